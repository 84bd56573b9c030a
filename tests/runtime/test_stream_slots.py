"""The per-stream hand-over of a multi-stream run: lossless and newest slots, ends, fairness."""
from __future__ import annotations

import threading
import time

from moadepth_edge.runtime.stream_slots import Final, StreamSlots


def test_take_ready_returns_one_item_from_each_stream_that_has_one():
    slots = StreamSlots([True, True, True], depth=2)
    halt = threading.Event()
    slots.put(0, "a0", halt)
    slots.put(0, "a1", halt)
    slots.put(2, "c0", halt)
    assert slots.take_ready(timeout=0) == [(0, "a0"), (2, "c0")]
    assert slots.take_ready(timeout=0) == [(0, "a1")]
    assert slots.take_ready(timeout=0) == []


def test_an_empty_stream_does_not_hold_back_a_ready_one():
    slots = StreamSlots([True, False])
    t0 = time.perf_counter()
    slots.put(1, "live", threading.Event())
    assert slots.take_ready(timeout=5.0) == [(1, "live")]
    assert time.perf_counter() - t0 < 1.0  # stream 0 has nothing and is not waited for


def test_take_ready_wakes_when_any_stream_delivers():
    slots = StreamSlots([True, True])
    threading.Timer(0.1, lambda: slots.put(1, "late", threading.Event())).start()
    t0 = time.perf_counter()
    assert slots.take_ready(timeout=5.0) == [(1, "late")]
    assert time.perf_counter() - t0 < 2.0


def test_a_lossless_put_waits_for_room_and_gives_up_when_halted():
    slots = StreamSlots([True], depth=1)
    halt = threading.Event()
    assert slots.put(0, 1, halt)
    threading.Timer(0.1, halt.set).start()
    assert slots.put(0, 2, halt) is False  # full, then halted
    assert slots.take_ready(timeout=0) == [(0, 1)]
    assert slots.dropped == [0]


def test_a_lossless_put_resumes_once_the_item_is_taken():
    slots = StreamSlots([True], depth=1)
    halt = threading.Event()
    slots.put(0, 1, halt)
    done = []
    t = threading.Thread(target=lambda: done.append(slots.put(0, 2, halt)))
    t.start()
    time.sleep(0.1)
    assert not done
    assert slots.take_ready(timeout=0) == [(0, 1)]
    t.join(2.0)
    assert done == [True] and slots.take_ready(timeout=0) == [(0, 2)]


def test_a_newest_slot_keeps_the_newest_and_counts_the_dropped():
    slots = StreamSlots([False])
    halt = threading.Event()
    for i in range(4):
        assert slots.put(0, i, halt)
    assert slots.take_ready(timeout=0) == [(0, 3)]
    assert slots.dropped == [3]


def test_the_final_item_comes_after_the_data_and_only_once():
    slots = StreamSlots([True, True])
    halt = threading.Event()
    slots.put(0, "x", halt)
    end, failure = Final(), Final(OSError("gone"))
    slots.finish(0, end)
    slots.finish(1, failure)
    slots.finish(1, Final())  # the first finish wins
    assert slots.take_ready(timeout=0) == [(0, "x"), (1, failure)]
    assert slots.take_ready(timeout=0) == [(0, end)]
    assert slots.take_ready(timeout=0) == []


def test_a_limit_takes_streams_in_turn_from_start():
    slots = StreamSlots([True, True, True])
    halt = threading.Event()
    for k in range(3):
        slots.put(k, k, halt)
    assert slots.take_ready(timeout=0, limit=1, start=1) == [(1, 1)]
    assert slots.take_ready(timeout=0, limit=1, start=2) == [(2, 2)]
    assert slots.take_ready(timeout=0, limit=1, start=0) == [(0, 0)]


def test_discard_empties_a_stopped_stream_and_frees_a_waiting_put():
    slots = StreamSlots([True], depth=1)
    halt = threading.Event()
    slots.put(0, 1, halt)
    slots.discard(0)
    assert slots.put(0, 2, halt)
    assert slots.take_ready(timeout=0) == [(0, 2)]
