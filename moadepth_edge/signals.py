"""SIGINT, SIGTERM and SIGHUP mean the same in every verb: stop, finalise, exit 128+signal.

The CLI installs the handlers for the whole command (`handle_signals`). By default the first
signal raises `Stopped` (a KeyboardInterrupt, so every `finally` and `except
KeyboardInterrupt` cleans up as for Ctrl-C). Long loops that can finish their current frame or
step first (run, train, bench, demo) wrap themselves in `deferred()`: there the first signal
only sets a flag that the loop polls with `requested()`. A second signal ends the process at
once (after removing the temp files of writes under way: `at_force_exit`). Torch-free; handlers are only installed from the main thread.
"""
from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager, suppress
from typing import Callable, Iterator

SIGNALS = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s)

_received: int | None = None
_deferring = 0
_installed = 0  # nesting depth of handle_signals(): only the outermost resets the flag


class Stopped(KeyboardInterrupt):
    """Raised by the first signal outside a `deferred()` block."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal_name(signum))
        self.signum = signum


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def exit_code(signum: int) -> int:
    """The shell's convention: 128 + the signal number (130 SIGINT, 143 SIGTERM, 129 SIGHUP)."""
    return 128 + int(signum)


def requested() -> int | None:
    """The signal number received since the handlers were installed, or None."""
    return _received


_at_force_exit: list[Callable[[], None]] = []


def at_force_exit(hook: Callable[[], None]) -> None:
    """Run `hook` (quick, no I/O beyond removing files) when a second signal ends the process
    at once: outputs.atomic_path removes its temp files this way."""
    _at_force_exit.append(hook)


def _handle(signum: int, frame: object) -> None:
    global _received
    if _received is not None:  # the second signal: end now, as the default action would
        for hook in _at_force_exit:
            with suppress(Exception):
                hook()
        signal.signal(signum, signal.SIG_DFL)
        if signum == signal.SIGINT:
            os._exit(exit_code(signum))
        os.kill(os.getpid(), signum)
        return
    _received = signum
    if not _deferring:
        raise Stopped(signum)


@contextmanager
def handle_signals() -> Iterator[None]:
    """Install the handlers for the duration (main thread only; elsewhere a no-op). A signal
    the process was started ignoring stays ignored, as Unix tools do: `nohup` (SIGHUP) and a
    background job of a script (SIGINT) keep running when the terminal goes."""
    global _received, _installed
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    outermost = _installed == 0
    if outermost:
        _received = None
    previous = {s: signal.signal(s, _handle) for s in SIGNALS if signal.getsignal(s) is not signal.SIG_IGN}
    _installed += 1
    try:
        yield
    finally:
        _installed -= 1
        for s, handler in previous.items():
            signal.signal(s, handler)
        if outermost:
            _received = None  # a later command in the same process starts afresh


@contextmanager
def deferred() -> Iterator[None]:
    """Within, the first signal only sets `requested()`: the loop finishes its frame or step,
    finalises its outputs and returns; leaving the block raises nothing."""
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1


def ignore_in_worker(*_: object) -> None:
    """A worker process's initializer: a terminal's Ctrl-C or a service manager's SIGTERM
    reaches every process of the group; workers leave the stopping to the main process."""
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
