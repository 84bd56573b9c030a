"""A live source fed from outside (the ROS 2 node's subscription callbacks): newest frame only.

`push()` (any thread) replaces an item not yet taken, counting it as dropped, so a model slower
than the camera always works on the newest image and no backlog builds up. `read()` (the
pipeline's capture thread) waits for the next item, at most `max_rate` per second, decodes it
(so frames that are dropped are never decoded) and ends (None) once the source is closed or a
stop signal arrived. An item that cannot be decoded is skipped with a warning.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

import numpy as np

from ... import signals
from ...errors import UserError
from ..frame_meta import FrameMeta
from ..sources.base import Frame, Source

log = logging.getLogger("moadepth_edge.runtime")

Decoder = Callable[[Any], "tuple[np.ndarray, FrameMeta | None]"]


def _as_is(item: Any) -> tuple[np.ndarray, FrameMeta | None]:
    return item


class PushSource(Source):
    """Items handed in by `push`, turned into (BGR image, FrameMeta) by `decode` (default: the
    item is that pair); `max_rate` (Hz, 0 = as they come) throttles `read`."""

    live = True

    def __init__(self, decode: Decoder = _as_is, description: str = "ROS 2 topic",
                 max_rate: float = 0.0) -> None:
        super().__init__(description)
        self.decode = decode
        self.max_rate = float(max_rate)
        self.dropped = 0  # frames replaced by a newer one before the model took them
        self.received = 0
        self._cond = threading.Condition()
        self._pending: tuple[Any, float] | None = None
        self._warned: set[str] = set()
        self._closed = False
        self._index = 0
        self._last_read = 0.0

    def push(self, item: Any) -> None:
        """Offer the next frame; replaces (drops) one that was not read yet."""
        with self._cond:
            if self._closed:
                return
            if self._pending is not None:
                self.dropped += 1
            self._pending = (item, time.perf_counter())
            self.received += 1
            self._cond.notify_all()

    def read(self) -> Frame | None:
        if self.max_rate > 0:  # throttle: sleep out the rest of the period (frames keep arriving)
            wait = self._last_read + 1.0 / self.max_rate - time.perf_counter()
            end = time.perf_counter() + max(0.0, wait)
            while (left := end - time.perf_counter()) > 0 and not self._stopping():
                time.sleep(min(left, 0.05))
        while True:
            with self._cond:
                while self._pending is None:
                    if self._stopping():
                        return None
                    self._cond.wait(0.1)
                item, arrived = self._pending
                self._pending = None
            try:
                image, meta = self.decode(item)
                break
            except UserError as exc:  # one bad message (an encoding we cannot read) is skipped
                self.skipped += 1
                if str(exc) not in self._warned:
                    self._warned.add(str(exc))
                    log.warning("%s: skipping a message: %s", self.description, exc)
        self._last_read = time.perf_counter()
        frame = Frame(self._index, image, arrived, meta=meta)
        self._index += 1
        return frame

    def _stopping(self) -> bool:
        return self._closed or signals.requested() is not None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
