"""The `moadepth-edge` entry point. `main(argv)` returns an exit code, so tests can call it.

Each verb lives in its own module with `register(app)`; heavy imports (torch, tensorrt) happen
inside the command functions, so `run` and `bench` work on a device without torch.
"""
from __future__ import annotations

import importlib
import sys
from typing import Sequence

import typer

from ..errors import UserError

# verb modules, in help order; each exists only once its command works
VERBS: tuple[str, ...] = ("demo", "info", "train", "eval", "export", "build", "run", "bench")

app = typer.Typer(
    name="moadepth-edge",
    help="MoA-DepthCLIP monocular depth: train, export, build TensorRT engines, run, bench.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



@app.callback()
def _root() -> None:
    """MoA-DepthCLIP monocular depth: train, export, build TensorRT engines, run, bench."""


for _verb in VERBS:
    importlib.import_module(f"{__package__}.{_verb}").register(app)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on `argv`; user mistakes print one `error:` line and return 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        rv = app(args=args, prog_name="moadepth-edge", standalone_mode=False)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (typer.Abort, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except Exception as exc:
        # bad flags: click's usage error (typer vendors click in newer releases, so match by shape)
        if hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            return exc.exit_code
        raise
    return rv if isinstance(rv, int) else 0


def entrypoint() -> None:
    sys.exit(main())
