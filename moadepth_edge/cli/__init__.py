"""The `moadepth-edge` command line: one file per verb, each with `register(app)`."""
from __future__ import annotations

import sys


def entrypoint() -> None:
    """The console script. Importing the verbs takes a moment (typer, rich, numpy); a Ctrl-C
    in it is a stop like any other (exit 130), not a traceback from an import."""
    try:
        from .main import main
    except KeyboardInterrupt:
        print("stopped by SIGINT", file=sys.stderr)
        sys.exit(130)
    sys.exit(main())
