"""How frames flow through the pipeline: throughput-first for files, latency-first for live sources.

**throughput** (files): a capture thread reads and preprocesses ahead into a bounded queue, and
inference hands its results to the output stage through another; both block when full, so every
frame is processed, in order, and decoding never keeps the model waiting. On a live source the
read-ahead queue keeps one frame and drops the oldest (what the runtime did for cameras before
latency-first scheduling): the frame read ahead still waits while the previous one is inferred,
so depth is up to a frame interval older than it needs to be. Kept for comparison (`bench`'s
live mode measures both) and for recording a camera at the highest frame rate.

**latency** (live sources, the default there): no read-ahead. Inference takes the newest frame
from the source at the moment it becomes free (the source's own reader thread keeps only the
newest), preprocesses it and runs the model: no frame waits behind another, and no CPU time goes
to preprocessing frames that would be dropped. Results reach the output stage through a one-slot
mailbox that keeps the newest, so a slow sink or consumer never holds inference back (a result
superseded before it was taken counts as dropped).

A Schedule is data plus the two hand-overs it needs; the pipeline's threads do the rest.
"""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

from ..errors import UserError

SCHEDULES = ("throughput", "latency")
_POLL_S = 0.05  # how often a blocked hand-over looks at the stop flag
_EMPTY = object()


class Handoff:
    """Passes items from one pipeline stage to the next. `final` items (end of input, a
    failure) are never dropped. `dropped`: data items discarded to keep the newest."""

    dropped: int = 0

    def put(self, item: object, stop: threading.Event, final: bool = False) -> None:
        raise NotImplementedError

    def get(self, timeout: float = _POLL_S) -> object | None:
        """The next item, or None when none came within `timeout` seconds."""
        raise NotImplementedError


class Fifo(Handoff):
    """A bounded queue. A put blocks while it is full (until `stop`), unless `drop_oldest`:
    then, after one poll interval, the oldest item makes room."""

    def __init__(self, size: int, drop_oldest: bool = False) -> None:
        self._q: queue.Queue = queue.Queue(maxsize=size)
        self.drop_oldest = drop_oldest
        self.dropped = 0

    def put(self, item: object, stop: threading.Event, final: bool = False) -> None:
        while not stop.is_set():
            try:
                self._q.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                if self.drop_oldest and not final:
                    try:
                        self._q.get_nowait()
                        self.dropped += 1
                    except queue.Empty:
                        pass

    def get(self, timeout: float = _POLL_S) -> object | None:
        try:
            return self._q.get(timeout=timeout)
        except queue.Empty:
            return None


class Newest(Handoff):
    """A one-slot mailbox: a put never blocks and replaces an item not taken yet (counted as
    dropped). A final item is delivered after the data item still waiting, then on every get."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: object = _EMPTY
        self._final: object = _EMPTY
        self.dropped = 0

    def put(self, item: object, stop: threading.Event, final: bool = False) -> None:
        with self._cond:
            if final:
                self._final = item
            else:
                if self._item is not _EMPTY:
                    self.dropped += 1
                self._item = item
            self._cond.notify_all()

    def get(self, timeout: float = _POLL_S) -> object | None:
        with self._cond:
            if self._item is _EMPTY and self._final is _EMPTY:
                self._cond.wait(timeout)
            if self._item is not _EMPTY:
                item, self._item = self._item, _EMPTY
                return item
            return None if self._final is _EMPTY else self._final


@dataclass(frozen=True)
class Schedule:
    """A scheduling policy. `read_ahead`: a capture thread reads and preprocesses into a queue
    of `queue_size` (dropping its oldest when `drop_oldest`); otherwise inference reads the
    source itself. `newest_result`: results go through a Newest mailbox instead of a queue."""

    name: str
    read_ahead: bool
    queue_size: int
    drop_oldest: bool
    newest_result: bool

    def frame_handoff(self) -> Handoff | None:
        return Fifo(self.queue_size, self.drop_oldest) if self.read_ahead else None

    def result_handoff(self) -> Handoff:
        return Newest() if self.newest_result else Fifo(self.queue_size)


def schedule_for(live: bool, name: str | None = None, queue_size: int | None = None) -> Schedule:
    """The policy for a source: `name` ("throughput" | "latency"), by default latency-first for
    live sources and throughput-first for files. `queue_size` sizes the throughput queues
    (default 1 for a live source, 2 for files)."""
    name = name or ("latency" if live else "throughput")
    if queue_size is not None and queue_size < 1:
        raise UserError(f"a pipeline queue holds at least one frame, got {queue_size}")
    if name == "throughput":
        return Schedule(name, read_ahead=True, queue_size=queue_size or (1 if live else 2),
                        drop_oldest=live, newest_result=False)
    if name == "latency":
        if not live:  # it would drop results: a file is read losslessly
            raise UserError("latency-first scheduling is for live sources (cameras, streams, paced "
                            "replays); files are processed frame by frame with the throughput schedule")
        return Schedule(name, read_ahead=False, queue_size=1, drop_oldest=False, newest_result=True)
    raise UserError(f"unknown pipeline schedule {name!r}; choose {' or '.join(SCHEDULES)}")
