"""Several streams at once: aggregate frames per second, batched vs one frame per call.

    moadepth-edge bench MODEL --video clip.mp4 --streams 1,2,4 [--streams-frames 20] [--streams-rounds 5]

For each stream count N, N copies of the video are streamed through the runtime's own
MultiPipeline (runtime/streams.py) for `frames` frames each, twice: batched (the frames ready
from all streams in one inference call, what `run` does with several sources) and one frame per
call (the same streams taking turns). Beside them, model-only: one call on N preprocessed frames
vs N calls on one. Every candidate of every N runs once per round, in turn (bench's
time_interleaved), so load from other processes hits all alike; each figure is the median over
rounds, and each ratio is the median of the per-round ratios. Aggregate FPS: N x frames over the
run's wall time (opening the sources and starting the threads included, as in a real run).
"""
from __future__ import annotations

import os
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import UserError
from ..formats.preprocess import Preprocessor
from ..runtime.backends.base import Backend
from ..runtime.sources import Source, VideoFileSource
from ..runtime.streams import MultiPipeline, Stream
from .measure import RATE_DECIMALS, Budget, time_interleaved
from .schema import StreamsResult, StreamsRow


@dataclass(frozen=True)
class StreamsSpec:
    """Stream counts to measure, frames per stream per run, and rounds."""

    counts: tuple[int, ...] = (1, 2, 4)
    frames: int = 20
    rounds: int = 5

    def __post_init__(self) -> None:
        if not self.counts or min(self.counts) < 1 or max(self.counts) > 64:
            raise UserError(f"--streams takes stream counts from 1 to 64, got {self.counts}")
        if self.frames < 1 or self.rounds < 1:
            raise UserError("--streams-frames and --streams-rounds take positive integers")


    def check_source(self, source: Source) -> None:
        """UserError unless `source` (the --video) has `frames` frames for each stream."""
        count = getattr(source, "count", 0)
        if count and count < self.frames:
            raise UserError(f"{source.description} has {count} frames; --streams-frames asks for "
                            f"{self.frames} per stream")


def _pipeline_run(backend: Backend, video: Path, n: int, frames: int, batching: bool,
                  calls: list[float], on_run: Callable[[], None] | None) -> Callable[[], None]:
    """One run of `n` copies of `video`, `frames` frames each; appends its frames per call."""
    def run() -> None:
        streams = [Stream(f"s{k}", VideoFileSource(video)) for k in range(n)]
        pipe = MultiPipeline(backend, streams, max_frames=frames, batching=batching)
        got = sum(1 for _ in pipe.results())
        if got != n * frames:
            raise UserError(f"{video} gave {got} of the {n * frames} frames asked for (too short?)")
        calls.append(pipe.stats.frames_per_call)
        if on_run is not None:
            on_run()
    return run


def model_calls(backend: Backend, batch1: np.ndarray, n: int) -> tuple[Callable[[], object], Callable[[], None]]:
    """Model-only inference on `n` copies of `batch1`: (one batched call, n calls of one)."""
    stacked = np.ascontiguousarray(np.concatenate([batch1] * n))
    limit = backend.max_batch or n

    def batched() -> None:
        for i in range(0, n, limit):
            backend.infer(stacked[i:i + limit])

    def one_by_one() -> None:
        for _ in range(n):
            backend.infer(batch1)
    return batched, one_by_one


def bench_streams(backend: Backend, video: Path, spec: StreamsSpec,
                  on_run: Callable[[], None] | None = None) -> StreamsResult:
    """Aggregate FPS of batched vs one-frame-per-call multi-stream runs (and model-only)."""
    load = [round(os.getloadavg()[0], 2)]
    with VideoFileSource(video) as src:
        spec.check_source(src)
        first = src.read()
    if first is None:
        raise UserError(f"{video} has no readable frame")
    batch1 = Preprocessor(backend.artifact)(first.image)
    calls: dict[str, Callable[[], object]] = {}
    per_call: dict[int, list[float]] = {}
    for n in spec.counts:
        per_call[n] = []
        calls[f"batched {n}"] = _pipeline_run(backend, video, n, spec.frames, True, per_call[n], on_run)
        calls[f"one {n}"] = _pipeline_run(backend, video, n, spec.frames, False, [], on_run)
        calls[f"model batched {n}"], calls[f"model one {n}"] = model_calls(backend, batch1, n)
    samples = time_interleaved(calls, Budget(warmup=1, iters=spec.rounds))
    rows = [_row(n, spec.frames, samples, per_call[n]) for n in spec.counts]
    return StreamsResult(source=str(video), frame_size=list(first.image.shape[:2]), frames_per_stream=spec.frames,
                         rounds=len(samples[f"batched {spec.counts[0]}"]), max_batch=backend.max_batch,
                         load_avg_1m=load + [round(os.getloadavg()[0], 2)], rows=rows)


def _row(n: int, frames: int, samples: dict[str, list[float]], per_call: list[float]) -> StreamsRow:
    def fps(name: str, images: int) -> list[float]:
        return [images * 1e3 / ms for ms in samples[name]]

    r = lambda x: round(float(x), RATE_DECIMALS)  # noqa: E731
    med = statistics.median
    batched, one = fps(f"batched {n}", n * frames), fps(f"one {n}", n * frames)
    m_batched, m_one = fps(f"model batched {n}", n), fps(f"model one {n}", n)
    return StreamsRow(
        streams=n, batched_fps=r(med(batched)), one_per_call_fps=r(med(one)),
        ratio=round(med(b / o for b, o in zip(batched, one)), 3),
        model_batched_fps=r(med(m_batched)), model_one_per_call_fps=r(med(m_one)),
        model_ratio=round(med(b / o for b, o in zip(m_batched, m_one)), 3),
        frames_per_call=r(med(per_call[1:] or per_call)),  # the warm-up round's left out
        batched_fps_rounds=[r(v) for v in batched], one_per_call_fps_rounds=[r(v) for v in one],
    )
