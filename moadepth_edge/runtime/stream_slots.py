"""Hand-overs between the stages of a multi-stream run: one slot per stream, one condition.

A stage that serves several streams (the batcher, the output) must wake when *any* stream has
something and must never wait on one that has nothing: `take_ready` returns one item from each
stream that has one, at once, and blocks only while no stream has anything. Each slot keeps
its stream's policy: a lossless slot (a file: every frame, in order) holds up to `depth` items
and its `put` waits while it is full; a newest slot (a live source) holds one and a `put`
replaces an item not taken yet (counted in `dropped`). A stream's last item (its end, or its
failure) is `finish`ed: it is delivered once, after the data items still waiting.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Sequence

_POLL_S = 0.05  # how often a blocked put looks at its stop flag


class Final:
    """A stream's last item: its end (`error` None) or its failure."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class StreamSlots:
    """One slot per stream. `lossless[i]`: slot i keeps every item (bounded by `depth`);
    otherwise only the newest."""

    def __init__(self, lossless: Sequence[bool], depth: int = 2) -> None:
        if depth < 1:
            raise ValueError("a slot holds at least one item")
        self.lossless = list(lossless)
        self.depth = depth
        self._items: list[deque] = [deque() for _ in self.lossless]
        self._final: list[Final | None] = [None] * len(self.lossless)
        self._closed = [False] * len(self.lossless)  # final item delivered
        self.dropped = [0] * len(self.lossless)
        self._cond = threading.Condition()

    def __len__(self) -> int:
        return len(self.lossless)

    def put(self, i: int, item: object, halt: threading.Event) -> bool:
        """Hand `item` to stream i's slot; False when `halt` was set while waiting for room."""
        with self._cond:
            if not self.lossless[i]:
                if self._items[i]:
                    self._items[i].clear()
                    self.dropped[i] += 1
                self._items[i].append(item)
                self._cond.notify_all()
                return True
            while len(self._items[i]) >= self.depth:
                if halt.is_set():
                    return False
                self._cond.wait(_POLL_S)
            self._items[i].append(item)
            self._cond.notify_all()
            return True

    def finish(self, i: int, final: Final) -> None:
        """Stream i's last item (its first `finish` wins)."""
        with self._cond:
            if self._final[i] is None:
                self._final[i] = final
            self._cond.notify_all()

    def take_ready(self, timeout: float = _POLL_S, limit: int | None = None,
                   start: int = 0) -> list[tuple[int, object]]:
        """(stream, item) for each stream with an item now - at most `limit`, visiting streams
        from `start` round-robin - waiting up to `timeout` s for the first. A stream's Final
        comes once its data items are taken, and only once."""
        with self._cond:
            ready = self._ready(limit, start)
            if not ready:
                self._cond.wait(timeout)
                ready = self._ready(limit, start)
            if ready:
                self._cond.notify_all()  # room for waiting puts
            return ready

    def _ready(self, limit: int | None, start: int) -> list[tuple[int, object]]:
        n = len(self.lossless)
        out: list[tuple[int, object]] = []
        for k in range(n):
            if limit is not None and len(out) >= limit:
                break
            i = (start + k) % n
            if self._items[i]:
                out.append((i, self._items[i].popleft()))
            elif self._final[i] is not None and not self._closed[i]:
                self._closed[i] = True
                out.append((i, self._final[i]))
        return out

    def discard(self, i: int) -> None:
        """Drop what stream i's slot holds (the stream was stopped) and wake waiting puts."""
        with self._cond:
            self._items[i].clear()
            self._cond.notify_all()
