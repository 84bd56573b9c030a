"""Glass-to-depth latency on a live source, beside the model's own latency.

    moadepth-edge bench MODEL --live-video clip.mp4 --live-fps 30     # a video replayed as a camera
    moadepth-edge bench MODEL --live 0                                # a real camera or stream

The runtime's own Pipeline runs on the live source (runtime/paced.py replays a video in real
time, newest frame kept, stamped with each frame's due time) under both schedules: latency-first
(what `run` uses for live sources) and throughput-first read-ahead (what live sources got
before). They alternate over `rounds` rounds, and model-only calls on the same frames are timed
before each round with bench's timing loop, so load from other processes hits all three alike.
Each round opens the source afresh and discards its first SETTLE_FRAMES results (queues still
filling). Per processed frame: latency from its capture timestamp to depth at the frame's size,
and its age when inference took it. Dropped: frames delivered in the measured span that were
never processed (superseded by newer ones).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .. import signals
from ..errors import UserError
from ..formats.preprocess import Preprocessor
from ..runtime.backends.base import Backend
from ..runtime.paced import PacedSource
from ..runtime.pipeline import Pipeline
from ..runtime.redact import redact
from ..runtime.sources import Source, open_source
from ..runtime.stats import STAGES
from .measure import MS_DECIMALS, RATE_DECIMALS, Budget, summarize_tail, time_calls
from .schema import LiveResult, LiveRun

SCHEDULES = ("latency", "throughput")  # the order of the first round; later rounds alternate
SETTLE_FRAMES = 3
MODEL_CALLS = 20  # model-only calls timed before each round


@dataclass(frozen=True)
class LiveSpec:
    """The live source to measure: `video` replayed at `fps`, or `source` (a camera index,
    csi://N, a stream URL or a GStreamer pipeline); `seconds` measured per schedule."""

    video: Path | None = None
    source: str | None = None
    fps: float = 30.0
    seconds: float = 20.0
    rounds: int = 4

    def __post_init__(self) -> None:
        if (self.video is None) == (self.source is None):
            raise UserError("give one live source: --live-video FILE or --live SOURCE")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise UserError(f"--live-fps takes a positive frame rate, got {self.fps}")
        if not (np.isfinite(self.seconds) and self.seconds > 0):
            raise UserError(f"--live-seconds takes a positive number of seconds, got {self.seconds}")
        if self.rounds < 1:
            raise UserError(f"live rounds must be >= 1, got {self.rounds}")

    def open(self) -> Source:
        """A fresh live source (UserError when it cannot be opened or is not live)."""
        if self.video is not None:
            return PacedSource(self.video, self.fps)
        source = open_source(str(self.source))
        if not source.live:
            source.close()
            raise UserError(f"--live takes a camera or stream, not a file ({redact(str(self.source))}); "
                            "replay a video as a camera with --live-video FILE --live-fps N")
        return source


@dataclass
class _Pool:
    """What one schedule measured, pooled over rounds."""

    latency: list[float] = field(default_factory=list)
    age: list[float] = field(default_factory=list)
    capture: list[float] = field(default_factory=list)
    dropped: int = 0
    wall_s: float = 0.0
    stage_total: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    stage_count: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))


def _first_frame(spec: LiveSpec) -> tuple[str, np.ndarray]:
    with spec.open() as source:
        frame = source.read()
        if frame is None:
            raise UserError(f"{source.description} delivered no frame")
        return source.description, frame.image


def _segment(pipe: Pipeline, seconds: float, pool: _Pool, begin: float,
             on_frame: Callable[[], None] | None) -> None:
    """Stream for `seconds` after the settling frames, pooling each processed frame."""
    results = pipe.results()
    first = last = None
    n = 0
    t0 = t_end = t_last = 0.0
    try:
        for i, r in enumerate(results):
            if on_frame is not None:
                on_frame()
            if i < SETTLE_FRAMES:
                t0 = time.perf_counter()
                t_end = t0 + seconds
                continue
            pool.latency.append(1e3 * r.latency_s)
            pool.age.append(1e3 * r.age_s)
            pool.capture.append(r.timestamp - begin)
            first = r.index if first is None else first
            last = r.index
            n += 1
            t_last = time.perf_counter()
            if t_last >= t_end:
                break
    finally:
        results.close()
    if pipe.failure is not None:
        raise pipe.failure
    if first is not None and last is not None:
        pool.dropped += (last - first + 1) - n
        pool.wall_s += t_last - t0
    for name, timer in pipe.stats.stages.items():
        pool.stage_total[name] += timer.total
        pool.stage_count[name] += timer.count


def bench_live(backend: Backend, spec: LiveSpec, on_frame: Callable[[], None] | None = None) -> LiveResult:
    """Latency-first and read-ahead pipelines on `spec`'s live source, and model-only calls."""
    load = [round(os.getloadavg()[0], 2)]
    description, image = _first_frame(spec)
    batch = Preprocessor(backend.artifact)(image)
    model_ms: list[float] = []
    pools = {name: _Pool() for name in SCHEDULES}
    lag: list[float] = []
    begin = time.perf_counter()
    rounds = 0
    for r in range(spec.rounds):
        if signals.requested():  # stopping: what was measured so far is the result
            break
        rounds += 1
        model_ms += time_calls(lambda: backend.infer(batch), Budget(warmup=1, iters=MODEL_CALLS))
        for name in SCHEDULES if r % 2 == 0 else SCHEDULES[::-1]:
            if signals.requested():
                break
            source = spec.open()
            _segment(Pipeline(backend, source, schedule=name), spec.seconds / spec.rounds, pools[name],
                     begin, on_frame)
            if isinstance(source, PacedSource):
                lag += source.lag_ms()
    if not model_ms:
        raise UserError("stopped before the live measurement began")
    model = summarize_tail(model_ms)
    runs = [_run(name, pool, model.p50) for name, pool in pools.items() if pool.latency]
    if not runs:
        raise UserError(f"no frame of {description} made it through the live pipeline")
    return LiveResult(
        source=description, paced_fps=spec.fps if spec.video is not None else None,
        frame_size=list(image.shape[:2]), seconds=spec.seconds, rounds=rounds, model_ms=model,
        replay_lag_ms=summarize_tail(lag) if lag else None,
        load_avg_1m=load + [round(os.getloadavg()[0], 2)], runs=runs,
    )


def _run(name: str, pool: _Pool, model_p50: float) -> LiveRun:
    latency, age = summarize_tail(pool.latency), summarize_tail(pool.age)
    r = lambda x: round(float(x), MS_DECIMALS)  # noqa: E731
    return LiveRun(
        schedule=name, frames=latency.n, dropped=pool.dropped,
        fps=round(latency.n / pool.wall_s, RATE_DECIMALS) if pool.wall_s > 0 else 0.0,
        latency=latency, age=age,
        stage_ms={s: r(1e3 * pool.stage_total[s] / pool.stage_count[s]) for s in STAGES if pool.stage_count[s]},
        capture_s=[r(t) for t in pool.capture],
        ratio_p50=round(latency.p50 / model_p50, 3) if model_p50 > 0 else 0.0,
    )
