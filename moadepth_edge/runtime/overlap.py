"""Does the pipeline keep up with the model? Pipeline FPS vs model-only FPS, same backend.

    python -m moadepth_edge.runtime.overlap MODEL --source clip.mp4 [--frames 200] [--repeats 3]

Model-only: `backend.infer` on frames decoded and preprocessed beforehand (nothing else runs).
Pipeline: the same frames streamed from the video file through capture, preprocess, inference
and postprocess threads (no sinks), then again writing the side-by-side video. Runs alternate
and each figure is the median over `repeats`, so a noisy machine affects both sides alike.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from .backends import load_backend
from .backends.base import Backend
from .pipeline import Pipeline
from ..formats.preprocess import Preprocessor
from .sinks import VideoSink
from .sources import VideoFileSource
from .stats import PipelineStats


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
    """Frames per second of `backend.infer` alone over pre-made batches."""
    for batch in batches[:warmup]:
        backend.infer(batch)
    t0 = time.perf_counter()
    for batch in batches:
        backend.infer(batch)
    return len(batches) / (time.perf_counter() - t0)


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
    with load_backend(model, backend, **backend_opts) as engine:
        pre = Preprocessor(engine.artifact)
        batches = [pre(img) for img in images]
        del images
        model_fps, pipe_fps, save_fps = [], [], []
        stats = None
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(repeats):
                model_fps.append(model_only_fps(engine, batches))
                stats = pipeline_run(engine, video, frames)
                pipe_fps.append(stats.fps)
                save_fps.append(pipeline_run(engine, video, frames, Path(tmp) / "out.mp4").fps)
        return OverlapResult(engine.name, frames, statistics.median(model_fps),
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m moadepth_edge.runtime.overlap", description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--source", required=True, help="a video file")
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backend", default=None)
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime intra-op threads")
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = parser.parse_args(argv)
    opts = {"threads": args.threads} if args.threads else {}
    try:
        result = measure_overlap(args.model, args.source, args.frames, args.repeats, args.backend, **opts)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print_table(result, args.model)
    if args.json:
        import json

        args.json.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
