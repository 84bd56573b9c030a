"""The scheduling policy: which schedule a source gets, and the two hand-overs' semantics."""
from __future__ import annotations

import threading
import time

import pytest

from moadepth_edge.errors import UserError
from moadepth_edge.runtime.scheduling import Fifo, Newest, schedule_for


def test_live_sources_are_latency_first_and_files_throughput_first():
    live = schedule_for(live=True)
    assert (live.name, live.read_ahead, live.newest_result) == ("latency", False, True)
    assert live.frame_handoff() is None and isinstance(live.result_handoff(), Newest)
    files = schedule_for(live=False)
    assert (files.name, files.read_ahead, files.queue_size, files.drop_oldest) == ("throughput", True, 2, False)
    read_ahead = schedule_for(live=True, name="throughput")  # what live sources got before
    assert (read_ahead.queue_size, read_ahead.drop_oldest, read_ahead.newest_result) == (1, True, False)
    assert schedule_for(live=False, queue_size=5).queue_size == 5


@pytest.mark.parametrize("live, name, size, message", [
    (False, "latency", None, "for live sources"),
    (True, "fastest", None, "unknown pipeline schedule 'fastest'"),
    (False, None, 0, "at least one frame"),
])
def test_bad_schedules_are_user_errors(live, name, size, message):
    with pytest.raises(UserError, match=message):
        schedule_for(live, name, size)


def test_newest_keeps_the_latest_item_and_never_drops_the_final_one():
    box, stop = Newest(), threading.Event()
    assert box.get(timeout=0.01) is None
    for item in (1, 2, 3):
        box.put(item, stop)  # never blocks, however slow the consumer
    assert box.get() == 3 and box.dropped == 2
    box.put(4, stop)
    box.put("end", stop, final=True)
    assert box.get() == 4 and box.get() == "end" and box.get() == "end"  # data first, then the end
    assert box.dropped == 2


def test_newest_wakes_a_waiting_consumer():
    box, stop = Newest(), threading.Event()
    threading.Timer(0.05, box.put, (7, stop)).start()
    t0 = time.perf_counter()
    assert box.get(timeout=5.0) == 7
    assert time.perf_counter() - t0 < 2.0


def test_fifo_is_lossless_in_order_and_a_put_gives_up_on_stop():
    fifo, stop = Fifo(2), threading.Event()
    fifo.put("a", stop)
    fifo.put("b", stop)
    threading.Timer(0.1, stop.set).start()
    fifo.put("c", stop)  # full: blocks until the stop request, then gives up without dropping
    assert [fifo.get(), fifo.get(), fifo.get(timeout=0.01)] == ["a", "b", None] and fifo.dropped == 0


def test_fifo_drop_oldest_keeps_the_newest_but_never_drops_the_end():
    fifo, stop = Fifo(1, drop_oldest=True), threading.Event()
    for item in ("a", "b", "c"):
        fifo.put(item, stop)
    assert fifo.get() == "c" and fifo.dropped == 2
    fifo.put("d", stop)
    threading.Timer(0.2, stop.set).start()
    fifo.put("end", stop, final=True)  # waits for room instead of evicting "d"
    assert fifo.get() == "d" and fifo.dropped == 2
