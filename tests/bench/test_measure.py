"""Latency measurement: warm-up, iteration / time budgets, and the statistics of real calls."""
from __future__ import annotations

import time

import numpy as np
import pytest

from moadepth_edge.bench.measure import Budget, summarize, throughput, time_calls
from moadepth_edge.errors import UserError


def test_warmup_calls_are_not_timed():
    calls = []
    samples = time_calls(lambda: calls.append(1), Budget(warmup=5, iters=7))
    assert len(calls) == 12 and len(samples) == 7


def test_time_budget_stops_after_the_deadline_but_keeps_min_iters():
    t0 = time.perf_counter()
    samples = time_calls(lambda: time.sleep(0.01), Budget(warmup=0, iters=None, seconds=0.05, min_iters=3))
    assert len(samples) >= 3
    assert time.perf_counter() - t0 < 1.0
    slow = time_calls(lambda: time.sleep(0.03), Budget(warmup=0, iters=None, seconds=0.001, min_iters=4))
    assert len(slow) == 4


def test_samples_are_milliseconds():
    samples = time_calls(lambda: time.sleep(0.005), Budget(warmup=0, iters=3))
    assert all(4.5 <= s < 100 for s in samples)


def test_percentiles_are_ordered_on_real_model_calls(tiny_models):
    from moadepth_edge.runtime.backends import load_backend

    with load_backend(tiny_models["fp32"], threads=1) as backend:
        x = np.random.default_rng(0).random((1, 3, 64, 64), dtype=np.float32)
        stats = summarize(time_calls(lambda: backend.infer(x), Budget(warmup=3, iters=60)))
    assert stats.n == 60 == len(stats.samples_ms)
    assert 0 < stats.min <= stats.p50 <= stats.p90 <= stats.p99 <= stats.max
    assert stats.min <= stats.mean <= stats.max and stats.std >= 0


def test_summary_of_known_values():
    stats = summarize([float(v) for v in range(1, 101)])
    assert (stats.p50, stats.p90, stats.p99) == (50.5, 90.1, 99.01)
    assert (stats.min, stats.max, stats.mean) == (1.0, 100.0, 50.5)
    assert stats.std == pytest.approx(np.std(np.arange(1, 101), ddof=1), abs=1e-4)


def test_throughput_counts_images_per_batch():
    assert throughput(4, 10.0) == 400.0
    assert throughput(1, 2.5) == 400.0


@pytest.mark.parametrize("kwargs", [dict(iters=None, seconds=None), dict(iters=10, seconds=1.0),
                                    dict(iters=0), dict(warmup=-1), dict(iters=None, seconds=0)])
def test_bad_budgets_are_user_errors(kwargs):
    with pytest.raises(UserError):
        Budget(**kwargs)


@pytest.mark.parametrize("iters", [None, 5])
@pytest.mark.parametrize("seconds", [0, -1.0, float("nan"), float("inf")])
def test_a_bad_time_budget_is_named_even_beside_iters(iters, seconds):
    with pytest.raises(UserError, match=r"--seconds must be a finite number > 0"):
        Budget(iters=iters, seconds=seconds)


def test_interleaved_timing_takes_turns():
    from moadepth_edge.bench.measure import time_interleaved

    order = []
    samples = time_interleaved({"a": lambda: order.append("a"), "b": lambda: order.append("b")},
                               Budget(warmup=1, iters=3))
    assert order == ["a", "b"] * 4 and {k: len(v) for k, v in samples.items()} == {"a": 3, "b": 3}
    with pytest.raises(UserError):
        time_interleaved({"a": lambda: None}, Budget(warmup=0, iters=None, seconds=1.0))
