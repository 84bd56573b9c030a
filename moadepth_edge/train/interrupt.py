"""Graceful stop on SIGINT / SIGTERM / SIGHUP (moadepth_edge.signals): within a StopRequest the
first signal only asks the trainer to finish the current step, checkpoint and return; a second
one ends the process at once. Under DDP every rank agrees on the step to stop at (the flag is
all-reduced), so no rank waits on a barrier alone."""
from __future__ import annotations

import contextlib

import torch
import torch.distributed as dist

from .. import signals
from .distributed import DistEnv


class StopRequest:
    """`with StopRequest(env) as stop:` ... `if stop.should_stop(): checkpoint; return`.

    Installs the signal handlers when the caller (the CLI's main) has not already, so a
    library `Trainer.fit()` stops as gracefully as `moadepth-edge train`."""

    def __init__(self, env: DistEnv) -> None:
        self.env = env
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> StopRequest:
        self._stack.enter_context(signals.handle_signals())
        self._stack.enter_context(signals.deferred())
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    @property
    def signum(self) -> int | None:
        """The signal this process received, or None."""
        return signals.requested()

    def should_stop(self) -> bool:
        """True on every rank once any rank was asked to stop."""
        local = signals.requested() is not None
        if not self.env.enabled:
            return local
        flag = torch.tensor([1.0 if local else 0.0])
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())


# DataLoader worker_init_fn: the main process finishes its step and shuts the workers down
ignore_signals_in_worker = signals.ignore_in_worker
