"""The `moadepth-edge` entry point. `main(argv)` returns an exit code, so tests can call it.

Each verb lives in its own module with `register(app)`; heavy imports (torch, tensorrt) happen
inside the command functions, so `run` and `bench` work on a device without torch.
"""
from __future__ import annotations

import importlib
import os
import sys
from typing import Sequence

import typer

from .. import signals
from .boundary import report_failure

# verb modules, in help order; each exists only once its command works
VERBS: tuple[str, ...] = ("demo", "info", "train", "eval", "export", "build", "run", "bench", "ros2")

app = typer.Typer(
    name="moadepth-edge",
    help="MoA-DepthCLIP monocular depth: train, export, build TensorRT engines, run, bench.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="show the full traceback of an unexpected failure "
                               "(also MOADEPTH_DEBUG=1)"),
) -> None:
    """MoA-DepthCLIP monocular depth: train, export, build TensorRT engines, run, bench."""
    if debug:
        os.environ["MOADEPTH_DEBUG"] = "1"


for _verb in VERBS:
    importlib.import_module(f"{__package__}.{_verb}").register(app)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on `argv` and return its exit code: 0 ok; 1 the run failed (a write failed,
    a source died, an unexpected error); 2 a user mistake (one `error:` line); 128+N stopped by
    signal N (130 SIGINT, 143 SIGTERM) after finalising every output."""
    args = list(sys.argv[1:] if argv is None else argv)
    with signals.handle_signals():
        try:
            rv = app(args=args, prog_name="moadepth-edge", standalone_mode=False)
        except BaseException as exc:  # the one error boundary: every exit path is decided here
            return report_failure(exc)
        stopped = signals.requested()
    if stopped is not None:
        if rv == 130:  # a signal outside a deferred() block: typer swallowed the KeyboardInterrupt
            print(f"stopped by {signals.signal_name(stopped)}", file=sys.stderr)
        return signals.exit_code(stopped)
    return rv if isinstance(rv, int) else 0
