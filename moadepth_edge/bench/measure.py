"""Latency measurement: warm-up, then a fixed number of iterations or a time budget.

Every timed call is kept (not only the mean), so percentiles and plots come from the same raw
samples. Clock: `time.perf_counter_ns`, monotonic and sub-microsecond on Linux.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import signals
from ..errors import UserError

# rounding applied once, here, so the JSON and every table print the very same numbers
MS_DECIMALS = 4
RATE_DECIMALS = 2


@dataclass(frozen=True)
class LatencyStats:
    """Summary of one configuration's timed calls, in milliseconds per call."""

    n: int
    mean: float
    std: float
    p50: float
    p90: float
    p99: float
    min: float
    max: float
    samples_ms: list[float]


@dataclass(frozen=True)
class TailStats:
    """A per-frame quantity of a live run (latency, frame age), in ms: the tail a robot feels."""

    n: int
    mean: float
    p50: float
    p95: float
    p99: float
    max: float
    samples_ms: list[float]


@dataclass(frozen=True)
class Budget:
    """How long to measure: `warmup` untimed calls, then `iters` calls or `seconds` of calls.

    With `seconds`, at least `min_iters` calls are timed even when one call is slower than the
    budget, so a percentile never rests on a single sample.
    """

    warmup: int = 10
    iters: int | None = 100
    seconds: float | None = None
    min_iters: int = 10

    def __post_init__(self) -> None:
        # each value first, so a bad one is named even beside a second budget
        if self.warmup < 0 or (self.iters is not None and self.iters < 1):
            raise UserError("--warmup must be >= 0 and --iters >= 1")
        if self.seconds is not None and not (math.isfinite(self.seconds) and self.seconds > 0):
            raise UserError(f"--seconds must be a finite number > 0, got {self.seconds}")
        if (self.iters is None) == (self.seconds is None):
            raise UserError("give either a number of iterations or a time budget in seconds, not both")


def time_calls(fn: Callable[[], object], budget: Budget,
               on_step: Callable[[], None] | None = None) -> list[float]:
    """Call `fn` `budget.warmup` times untimed, then time each further call; returns ms per call."""
    for _ in range(budget.warmup):
        if signals.requested():
            break
        fn()
    samples: list[float] = []
    deadline = None if budget.seconds is None else time.perf_counter() + budget.seconds
    while True:
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1e6)
        if on_step is not None:
            on_step()
        if signals.requested():  # stopping: keep what was measured, finish this configuration
            return samples
        if deadline is None:
            if len(samples) >= budget.iters:  # type: ignore[operator]
                return samples
        elif time.perf_counter() >= deadline and len(samples) >= budget.min_iters:
            return samples


def time_interleaved(calls: dict[str, Callable[[], object]], budget: Budget) -> dict[str, list[float]]:
    """Time several calls taking turns, call by call (ms per call for each name): load from
    other processes on a shared machine then hits every candidate alike, so their ratios hold.
    Needs `budget.iters`."""
    if budget.iters is None:
        raise UserError("interleaved timing needs a number of iterations, not seconds")
    for _ in range(budget.warmup):
        for fn in calls.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(budget.iters):
        for name, fn in calls.items():
            t0 = time.perf_counter_ns()
            fn()
            samples[name].append((time.perf_counter_ns() - t0) / 1e6)
        if signals.requested():
            break
    return samples


def summarize(samples_ms: list[float]) -> LatencyStats:
    """Mean, std, percentiles (linear interpolation), min, max of per-call times in ms."""
    if not samples_ms:
        raise ValueError("no samples to summarize")
    a = np.asarray(samples_ms, dtype=np.float64)
    p50, p90, p99 = np.percentile(a, [50, 90, 99])
    r = lambda x: round(float(x), MS_DECIMALS)  # noqa: E731
    return LatencyStats(
        n=int(a.size), mean=r(a.mean()), std=r(a.std(ddof=1) if a.size > 1 else 0.0),
        p50=r(p50), p90=r(p90), p99=r(p99), min=r(a.min()), max=r(a.max()),
        samples_ms=[r(x) for x in a],
    )


def summarize_tail(samples_ms: list[float]) -> TailStats:
    """Mean, p50, p95, p99 (linear interpolation) and max of per-frame values in ms."""
    if not samples_ms:
        raise ValueError("no samples to summarize")
    a = np.asarray(samples_ms, dtype=np.float64)
    p50, p95, p99 = np.percentile(a, [50, 95, 99])
    r = lambda x: round(float(x), MS_DECIMALS)  # noqa: E731
    return TailStats(n=int(a.size), mean=r(a.mean()), p50=r(p50), p95=r(p95), p99=r(p99), max=r(a.max()),
                     samples_ms=[r(x) for x in a])


def throughput(batch: int, mean_ms: float) -> float:
    """Images per second at `batch` images per call of `mean_ms`."""
    return round(batch * 1000.0 / mean_ms, RATE_DECIMALS) if mean_ms > 0 else 0.0
