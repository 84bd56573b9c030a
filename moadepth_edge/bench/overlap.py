"""Does the pipeline keep up with the model? Pipeline FPS vs model-only FPS, same backend.

    moadepth-edge bench MODEL --video clip.mp4 --overlap 3 [--iters 200] [--out DIR]

Model-only: `backend.infer` on frames decoded and preprocessed beforehand (nothing else runs).
Pipeline: the same frames streamed from the video file through capture, preprocess, inference
and postprocess threads (no sinks), then again writing the side-by-side video. Runs alternate
and each figure is the median over `repeats`, so a noisy machine affects both sides alike.
"""
from __future__ import annotations

import itertools
import statistics
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..formats.preprocess import Preprocessor
from ..runtime.backends import load_backend
from ..runtime.backends.base import Backend
from ..runtime.pipeline import Pipeline
from ..runtime.sinks import VideoSink
from ..runtime.sources import VideoFileSource
from ..runtime.stats import PipelineStats
from .measure import Budget, time_calls


@dataclass
class OverlapResult:
    """Median FPS of each mode and the last pipeline run's per-stage stats."""

    backend: str
    frames: int
    model_fps: float
    pipeline_fps: float
    pipeline_save_fps: float
    stats: PipelineStats | None = field(default=None, repr=False)

    @property
    def ratio(self) -> float:
        return self.pipeline_fps / self.model_fps if self.model_fps else 0.0

    @property
    def ratio_save(self) -> float:
        return self.pipeline_save_fps / self.model_fps if self.model_fps else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend, "frames": self.frames, "model_fps": self.model_fps,
            "pipeline_fps": self.pipeline_fps, "pipeline_save_fps": self.pipeline_save_fps,
            "ratio": self.ratio, "ratio_save": self.ratio_save,
            "stages_ms": self.stats.to_dict()["stages_ms"] if self.stats else {},
        }


def model_only_fps(backend: Backend, batches: list, warmup: int = 5) -> float:
    """Frames per second of `backend.infer` alone over pre-made batches (bench's one timing loop)."""
    feed = itertools.cycle(batches)
    samples = time_calls(lambda: backend.infer(next(feed)), Budget(warmup=warmup, iters=len(batches)))
    return 1e3 * len(samples) / sum(samples)


def pipeline_run(backend: Backend, video: Path, frames: int, save: Path | None = None) -> PipelineStats:
    """One pipeline run over the first `frames` frames of `video`; optional side-by-side save."""
    source = VideoFileSource(video)
    sinks = [VideoSink(save, fps=source.fps or 30.0)] if save else []
    return Pipeline(backend, source, sinks, max_frames=frames).run()


def measure_overlap(
    model: str | Path,
    video: str | Path,
    frames: int = 200,
    repeats: int = 3,
    backend: str | None = None,
    **backend_opts: Any,
) -> OverlapResult:
    """Model-only vs pipeline FPS for `model` on the first `frames` frames of `video`."""
    video = Path(video)
    with VideoFileSource(video) as src:
        images = [f.image for _, f in zip(range(frames), src)]
    if not images:
        raise UserError(f"{video} has no readable frames")
    frames = len(images)
    with load_backend(model, backend, **backend_opts) as runner:
        pre = Preprocessor(runner.artifact)
        batches = [pre(img) for img in images]
        del images
        model_fps, pipe_fps, save_fps = [], [], []
        stats = None
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(repeats):
                model_fps.append(model_only_fps(runner, batches))
                stats = pipeline_run(runner, video, frames)
                pipe_fps.append(stats.fps)
                save_fps.append(pipeline_run(runner, video, frames, Path(tmp) / "out.mp4").fps)
        return OverlapResult(runner.name, frames, statistics.median(model_fps),
                             statistics.median(pipe_fps), statistics.median(save_fps), stats)


def print_table(result: OverlapResult, model: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"pipeline overlap: {Path(model).name}, {result.backend}, {result.frames} frames")
    for col in ("mode", "FPS", "x model-only"):
        table.add_column(col, justify="left" if col == "mode" else "right")
    table.add_row("model only (infer on ready batches)", f"{result.model_fps:.1f}", "1.00")
    table.add_row("pipeline (video file, no outputs)", f"{result.pipeline_fps:.1f}", f"{result.ratio:.2f}")
    table.add_row("pipeline + --save side-by-side mp4", f"{result.pipeline_save_fps:.1f}",
                  f"{result.ratio_save:.2f}")
    console = Console()
    console.print(table)
    if result.stats:
        console.print("last pipeline run: " + result.stats.summary_line())
