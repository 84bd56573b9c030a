"""Errors that reach the user as one line (the CLI prints them and exits 2), not a traceback."""
from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input: bad path, corrupt file, wrong shape, missing package."""


class MissingDependency(UserError):
    """An optional heavy package is not installed; the message says how to install it."""


class CheckpointError(UserError):
    """A checkpoint folder or weights file that cannot be used."""


class IncompatibleEngine(UserError):
    """An engine built for another GPU / TensorRT version; the message says what to rebuild."""
