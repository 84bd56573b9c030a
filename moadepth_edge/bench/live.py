"""Glass-to-depth latency on a live source, beside the model's own latency.

    moadepth-edge bench MODEL --live-video clip.mp4 --live-fps 30     # a video replayed as a camera
    moadepth-edge bench MODEL --live 0                                # a real camera or stream
    moadepth-edge bench MODEL --live-video clip.mp4 --live-streams 1,2,4   # as 1, 2 and 4 cameras

The runtime's own Pipeline runs on the live source (runtime/paced.py replays a video in real
time, newest frame kept, stamped with each frame's due time) under both schedules: latency-first
(what `run` uses for live sources) and throughput-first read-ahead (what live sources got
before). Several streams (`--live-streams N`: N replays of the video, each on its own clock, as N
cameras) run through the runtime's MultiPipeline, batched (the frames ready from all cameras in
one call, what `run` does) and one frame per call, with a row per camera and one for all.
Every (stream count, schedule) alternates over `rounds` rounds, and model-only calls on the same
frames (one frame per call, and one call on N frames for N streams) are timed before each round with
bench's timing loop, so load from other processes hits them all alike. Each round opens the
sources afresh and discards the first SETTLE_FRAMES results per stream (queues still filling).
Per processed frame: latency from its capture timestamp to depth at the frame's size, and its
age when inference took it. Dropped: frames delivered in the measured span that were never
processed (superseded by newer ones).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .. import signals
from ..errors import UserError
from ..formats.preprocess import Preprocessor
from ..runtime.backends.base import Backend
from ..runtime.paced import PacedSource
from ..runtime.pipeline import Pipeline
from ..runtime.redact import redact
from ..runtime.result import Result
from ..runtime.sources import Source, open_source
from ..runtime.stats import STAGES, StageTimer
from ..runtime.streams import MultiPipeline, Stream
from .measure import MS_DECIMALS, RATE_DECIMALS, Budget, summarize_tail, time_calls
from .schema import LiveResult, LiveRun
from .streams import model_calls

SCHEDULES = ("latency", "throughput")  # one stream; the order of the first round, later rounds alternate
MULTI_SCHEDULES = ("batched", "one per call")  # several streams (runtime/streams.py)
MAX_STREAMS = 16
SETTLE_FRAMES = 3  # per stream
MODEL_CALLS = 20  # model-only calls timed before each round (fewer, at least 3, for N frames)

Key = tuple[int, str, str]  # (streams, schedule, stream name: "" one stream, "all", "cam<k>")


@dataclass(frozen=True)
class LiveSpec:
    """The live source to measure: `video` replayed at `fps`, or `source` (a camera index,
    csi://N, a stream URL or a GStreamer pipeline); `seconds` measured per schedule and stream
    count; `streams`: the stream counts to run (above 1: that many replays of `video`)."""

    video: Path | None = None
    source: str | None = None
    fps: float = 30.0
    seconds: float = 20.0
    rounds: int = 4
    streams: tuple[int, ...] = (1,)

    def __post_init__(self) -> None:
        if (self.video is None) == (self.source is None):
            raise UserError("give one live source: --live-video FILE or --live SOURCE")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise UserError(f"--live-fps takes a positive frame rate, got {self.fps}")
        if not (np.isfinite(self.seconds) and self.seconds > 0):
            raise UserError(f"--live-seconds takes a positive number of seconds, got {self.seconds}")
        if self.rounds < 1:
            raise UserError(f"live rounds must be >= 1, got {self.rounds}")
        counts = self.streams
        if not counts or min(counts) < 1 or max(counts) > MAX_STREAMS or len(set(counts)) != len(counts):
            raise UserError(f"--live-streams takes distinct stream counts from 1 to {MAX_STREAMS}, got "
                            f"{','.join(map(str, counts))}")
        if max(counts) > 1 and self.video is None:
            raise UserError("--live-streams above 1 replays --live-video as that many cameras; for real "
                            "cameras run `moadepth-edge run --camera 0 --camera 1`, whose summary has each "
                            "stream's latency")

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

    def jobs(self) -> list[tuple[int, str]]:
        """(stream count, schedule) of every measured run, in the first round's order."""
        return [(n, s) for n in self.streams for s in (SCHEDULES if n == 1 else MULTI_SCHEDULES)]


@dataclass
class _Pool:
    """What one (stream count, schedule, stream) measured, pooled over rounds."""

    latency: list[float] = field(default_factory=list)
    age: list[float] = field(default_factory=list)
    capture: list[float] = field(default_factory=list)
    dropped: int = 0
    wall_s: float = 0.0
    stage_total: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    stage_count: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))

    def add(self, records: list[Result], wall_s: float, begin: float, stages: dict[str, StageTimer]) -> None:
        """One stream's processed frames of one segment (in order) and its stage timers."""
        for r in records:
            self.latency.append(1e3 * r.latency_s)
            self.age.append(1e3 * r.age_s)
            self.capture.append(r.timestamp - begin)
        if records:
            self.dropped += (records[-1].index - records[0].index + 1) - len(records)
            self.wall_s += wall_s
        for name, timer in stages.items():
            self.stage_total[name] += timer.total
            self.stage_count[name] += timer.count


def _first_frame(spec: LiveSpec) -> tuple[str, np.ndarray]:
    with spec.open() as source:
        frame = source.read()
        if frame is None:
            raise UserError(f"{source.description} delivered no frame")
        return source.description, frame.image


def _collect(results: Iterator[Result], seconds: float, settle: int,
             on_frame: Callable[[], None] | None) -> tuple[list[Result], float]:
    """The results of `seconds` of streaming after the first `settle`, and the span they took."""
    records: list[Result] = []
    t0 = t_end = t_last = 0.0
    try:
        for i, r in enumerate(results):
            if on_frame is not None:
                on_frame()
            if i < settle:
                t0 = time.perf_counter()
                t_end = t0 + seconds
                continue
            records.append(r)
            t_last = time.perf_counter()
            if t_last >= t_end:
                break
    finally:
        results.close()  # type: ignore[attr-defined]
    return records, (t_last - t0 if records else 0.0)


def _lag(sources: list[Source]) -> list[float]:
    return [ms for s in sources if isinstance(s, PacedSource) for ms in s.lag_ms()]


def _segment(backend: Backend, spec: LiveSpec, n: int, schedule: str, pools: dict[Key, _Pool], begin: float,
             on_frame: Callable[[], None] | None) -> list[float]:
    """Stream `n` fresh live sources for one round's share of `seconds`; returns the replay lag."""
    seconds = spec.seconds / spec.rounds
    if n == 1:
        source = spec.open()
        pipe = Pipeline(backend, source, schedule=schedule)
        records, wall = _collect(pipe.results(), seconds, SETTLE_FRAMES, on_frame)
        if pipe.failure is not None:
            raise pipe.failure
        pools[(1, schedule, "")].add(records, wall, begin, pipe.stats.stages)
        return _lag([source])
    sources: list[Source] = []
    try:
        for _ in range(n):
            sources.append(spec.open())
    except BaseException:
        for source in sources:
            source.close()
        raise
    streams = [Stream(f"cam{k}", source) for k, source in enumerate(sources)]
    multi = MultiPipeline(backend, streams, batching=schedule == "batched")
    records, wall = _collect(multi.results(), seconds, SETTLE_FRAMES * n, on_frame)
    if multi.failure is not None:
        raise multi.failure
    every = pools[(n, schedule, "all")]
    for s in streams:
        mine = [r for r in records if r.stream == s.name]
        pools[(n, schedule, s.name)].add(mine, wall, begin, s.stats.stages)
        every.add(mine, 0.0, begin, s.stats.stages)
    every.wall_s += wall
    return _lag(sources)


def _keys(n: int, schedule: str) -> list[Key]:
    return [(1, schedule, "")] if n == 1 else [(n, schedule, name) for name in ("all", *(f"cam{k}" for k in range(n)))]


def bench_live(backend: Backend, spec: LiveSpec, on_frame: Callable[[], None] | None = None) -> LiveResult:
    """Each (stream count, schedule) of `spec` on its live source(s), and model-only calls."""
    load = [round(os.getloadavg()[0], 2)]
    description, image = _first_frame(spec)
    batch = Preprocessor(backend.artifact)(image)
    jobs = spec.jobs()
    model_ms: list[float] = []
    model_n: dict[int, list[float]] = {n: [] for n, _ in jobs if n > 1}  # one call on n frames
    pools = {key: _Pool() for job in jobs for key in _keys(*job)}
    lag: list[float] = []
    begin = time.perf_counter()
    rounds = 0
    for r in range(spec.rounds):
        if signals.requested():  # stopping: what was measured so far is the result
            break
        rounds += 1
        model_ms += time_calls(lambda: backend.infer(batch), Budget(warmup=1, iters=MODEL_CALLS))
        for n, samples in model_n.items():
            batched, _ = model_calls(backend, batch, n)
            samples += time_calls(batched, Budget(warmup=1, iters=max(3, MODEL_CALLS // n)))
        for n, schedule in jobs if r % 2 == 0 else jobs[::-1]:
            if signals.requested():
                break
            lag += _segment(backend, spec, n, schedule, pools, begin, on_frame)
    if not model_ms:
        raise UserError("stopped before the live measurement began")
    model = summarize_tail(model_ms)
    runs = []
    for n, schedule in jobs:
        # a frame's own inference: one call on all n streams' frames when batched, else one frame
        floor = None if n == 1 else summarize_tail(model_n[n]).p50 if schedule == "batched" else model.p50
        runs += [_run(key, pools[key], model.p50 if floor is None else floor, floor)
                 for key in _keys(n, schedule) if pools[key].latency]
    if not runs:
        raise UserError(f"no frame of {description} made it through the live pipeline")
    return LiveResult(
        source=description, paced_fps=spec.fps if spec.video is not None else None,
        frame_size=list(image.shape[:2]), seconds=spec.seconds, rounds=rounds, model_ms=model,
        replay_lag_ms=summarize_tail(lag) if lag else None,
        load_avg_1m=load + [round(os.getloadavg()[0], 2)], runs=runs,
    )


def _run(key: Key, pool: _Pool, model_p50: float, floor: float | None) -> LiveRun:
    n, schedule, stream = key
    latency, age = summarize_tail(pool.latency), summarize_tail(pool.age)
    r = lambda x: round(float(x), MS_DECIMALS)  # noqa: E731
    return LiveRun(
        schedule=schedule, frames=latency.n, dropped=pool.dropped,
        fps=round(latency.n / pool.wall_s, RATE_DECIMALS) if pool.wall_s > 0 else 0.0,
        latency=latency, age=age,
        stage_ms={s: r(1e3 * pool.stage_total[s] / pool.stage_count[s]) for s in STAGES if pool.stage_count[s]},
        capture_s=[r(t) for t in pool.capture],
        ratio_p50=round(latency.p50 / model_p50, 3) if model_p50 > 0 else 0.0,
        streams=n, stream=stream, model_p50_ms=floor,
    )
