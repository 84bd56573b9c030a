"""The error classes the CLI's one boundary (cli/main.py) turns into one line and an exit code.

UserError and its subclasses: a mistake in the user's input, found before the work starts where
it can be (exit 2). RunFailure: the run started and then failed (a write failed, a source died;
exit 1). Everything else is unexpected: one line saying where the traceback went (exit 1).
"""
from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input: bad path, corrupt file, wrong shape, missing package."""


class MissingDependency(UserError):
    """An optional heavy package is not installed; the message says how to install it."""


class CheckpointError(UserError):
    """A checkpoint folder or weights file that cannot be used."""


class IncompatibleEngine(UserError):
    """An engine built for another GPU / TensorRT version; the message says what to rebuild."""


class ConfigError(UserError):
    """A saved config (checkpoint, artifact, engine header, profile) with wrong types or values."""


class RunFailure(Exception):
    """The work started and then failed: a write failed (disk full, path gone), a source died."""


class WriteFailed(RunFailure):
    """Writing an output file failed; the message names the file and the cause."""

    def __init__(self, path: object, cause: BaseException | str) -> None:
        why = cause if isinstance(cause, str) else (getattr(cause, "strerror", None) or str(cause) or type(cause).__name__)
        super().__init__(f"cannot write {path}: {why}")
        self.path, self.why = path, str(why)

    def __reduce__(self) -> tuple:  # pickled as it was made: it crosses from worker processes
        return WriteFailed, (self.path, self.why)
