"""Graceful stop on Ctrl-C / SIGTERM: the first signal asks the trainer to checkpoint after
the current step and exit; a second one interrupts at once. Under DDP every rank agrees on
the step to stop at (the flag is all-reduced), so no rank waits on a barrier alone."""
from __future__ import annotations

import signal
import threading

import torch
import torch.distributed as dist

from .distributed import DistEnv


class StopRequest:
    def __init__(self, env: DistEnv) -> None:
        self.env = env
        self.requested = False
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum, frame) -> None:
        self.requested = True
        signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))  # the next one is immediate

    def should_stop(self) -> bool:
        """True on every rank once any rank was asked to stop."""
        if not self.env.enabled:
            return self.requested
        flag = torch.tensor([1.0 if self.requested else 0.0])
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())
