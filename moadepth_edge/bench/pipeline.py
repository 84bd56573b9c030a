"""End-to-end pipeline FPS on a video with per-stage times (capture, pre, infer, post).

Runs the runtime's own Pipeline (capture+preprocess, inference and postprocessing overlapped
on threads, exactly what `moadepth-edge run` does) with no sinks, so the number is frames to
depth-at-frame-size. The clip is looped until the budget is spent; a first untimed run of
`warmup` frames warms the backend and the decoder.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import UserError
from ..runtime.backends.base import Backend
from ..runtime.pipeline import Pipeline
from ..runtime.sources import Frame, Source, open_source
from .measure import MS_DECIMALS, RATE_DECIMALS, Budget
from .schema import PipelineResult

STAGES = ("capture", "preprocess", "infer", "postprocess")  # the runtime's own stage names


class LoopingSource(Source):
    """A video (or image) file read again from the start whenever it ends."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(f"{path} (looped)")
        self.path = str(path)
        self._src = open_source(self.path)
        if self._src.live:
            self._src.close()
            raise UserError(f"pipeline benchmarks need a video file, not a live source: {path}")
        self.index = 0

    def read(self) -> Frame | None:
        frame = self._src.read()
        if frame is None:
            self._src.close()
            self._src = open_source(self.path)
            frame = self._src.read()
            if frame is None:
                raise UserError(f"{self.path} has no readable frames")
        frame.index = self.index
        self.index += 1
        return frame

    def close(self) -> None:
        self._src.close()


def summarize_pipeline(source: str, stage_ms: dict[str, list[float]], latency_ms: list[float],
                       frames: int, wall_s: float) -> PipelineResult:
    """A PipelineResult from per-frame stage times and capture-to-depth latencies (ms)."""
    if frames == 0 or not latency_ms:
        raise UserError(f"no frame of {source} made it through the pipeline")
    r = lambda x: round(float(x), MS_DECIMALS)  # noqa: E731
    p50, p99 = np.percentile(np.asarray(latency_ms, dtype=np.float64), [50, 99])
    return PipelineResult(
        source=source, frames=frames, fps=round(frames / wall_s, RATE_DECIMALS),
        stage_ms={s: r(np.mean(stage_ms[s])) for s in STAGES if stage_ms.get(s)},
        frame_p50_ms=r(p50), frame_p99_ms=r(p99),
    )


def _run(backend: Backend, video: Path, frames: int | None, deadline_s: float | None,
         min_frames: int, on_frame: Callable[[], None] | None) -> Pipeline:
    pipe = Pipeline(backend, LoopingSource(video), max_frames=frames)
    stop_at = None if deadline_s is None else time.perf_counter() + deadline_s
    results = pipe.results()
    try:
        for _ in results:
            if on_frame is not None:
                on_frame()
            if stop_at is not None and time.perf_counter() >= stop_at and pipe.stats.frames >= min_frames:
                break
    finally:
        results.close()
    return pipe


def bench_pipeline(backend: Backend, video: str | Path, budget: Budget,
                   on_frame: Callable[[], None] | None = None) -> PipelineResult:
    """Pipeline FPS and mean per-stage ms per frame over `budget` frames (or seconds)."""
    video = Path(video)
    if budget.warmup:
        _run(backend, video, budget.warmup, None, 0, None)
    pipe = _run(backend, video, budget.iters, budget.seconds, budget.min_iters, on_frame)
    stats = pipe.stats
    stage_ms = {s: [v * 1e3 for v in stats.stages[s].samples] for s in STAGES}
    latency = [v * 1e3 for v in stats.latency.samples]
    return summarize_pipeline(video.name, stage_ms, latency, stats.frames, stats.wall_s)
