"""The CLI's one error boundary: every exception that leaves a verb becomes one line on stderr
and an exit code (see `main`). User mistakes (UserError, bad flags, a path that does not exist
or cannot be written) are exit 2; a run that failed after it started (RunFailure, a full disk,
an I/O error) is exit 1; a signal is 128+N. Anything unexpected is one line saying where its
traceback went (a log file; `--debug` or MOADEPTH_DEBUG=1 prints it instead), exit 1."""
from __future__ import annotations

import errno
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

import typer

from .. import signals
from ..errors import RunFailure, UserError
from ..runtime.redact import redact

# OSErrors that mean the user named a wrong path; other OSErrors (ENOSPC, EIO) are run failures
_PATH_MISTAKES = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError, FileExistsError)


def _say(message: object) -> None:
    """The one `error:` line: white space folded, credentials of any URL in it hidden."""
    print(f"error: {redact(' '.join(str(message).split()))}", file=sys.stderr)


def _os_error_line(exc: OSError) -> str:
    what = exc.strerror or errno.errorcode.get(exc.errno or 0, "") or str(exc)
    name = exc.filename if exc.filename is not None else ""
    return f"{what}: {name}" if name else what


def crash_log_dir() -> Path:
    """Where tracebacks of unexpected failures go: $MOADEPTH_LOG_DIR, else the temp folder."""
    return Path(os.environ.get("MOADEPTH_LOG_DIR") or tempfile.gettempdir())


def _write_crash_log(exc: BaseException) -> Path | None:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        folder = crash_log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"moadepth-edge-crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        path.write_text(redact(f"moadepth-edge {' '.join(sys.argv[1:])}\n{text}"))
        return path
    except OSError:
        return None


def report_failure(exc: BaseException) -> int:
    """Print the one line for `exc` and return the exit code."""
    stopped = exc.signum if isinstance(exc, signals.Stopped) else signals.requested()
    if stopped is not None and isinstance(exc, (KeyboardInterrupt, typer.Abort, typer.Exit)):
        print(f"stopped by {signals.signal_name(stopped)}", file=sys.stderr)
        return signals.exit_code(stopped)
    if isinstance(exc, (KeyboardInterrupt, typer.Abort)):
        print("interrupted", file=sys.stderr)
        return 130
    if isinstance(exc, typer.Exit):
        return exc.exit_code
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else 1
    if isinstance(exc, UserError):
        _say(exc)
        return 2
    if isinstance(exc, RunFailure):
        _say(exc)
        return 1
    # click's usage errors (typer vendors click in newer releases, so match by shape)
    if hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int):
        ctx = getattr(exc, "ctx", None)
        where = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
        _say(f"{exc.format_message()}{where}")
        return exc.exit_code
    if isinstance(exc, _PATH_MISTAKES):
        _say(_os_error_line(exc))
        return 2
    if isinstance(exc, OSError):
        _say(_os_error_line(exc))
        return 1
    if os.environ.get("MOADEPTH_DEBUG", "") not in ("", "0"):
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        _say(f"unexpected failure: {type(exc).__name__}: {exc}")
        return 1
    log = _write_crash_log(exc)
    where = f"full traceback in {log}" if log else "rerun with --debug for the traceback"
    _say(f"unexpected failure ({type(exc).__name__}: {str(exc)[:300]}); {where}; please report it")
    return 1
