"""The CPU demo: a tiny MoA-DepthCLIP trained on synthetic rooms, exported to ONNX and streamed.

export (ONNX, fused) -> a synthetic camera walk the model never saw -> `run`'s pipeline on ONNX
Runtime (CPU) -> side-by-side video, depth PNGs, a frame for the README, and a summary of
accuracy against the clip's exact depth and of speed. Every file is written checked and
atomically; a signal while streaming finishes the frame, finalises the outputs and still
writes the summary of the frames so far.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import cv2
import numpy as np

from . import signals
from .errors import UserError, WriteFailed
from .outputs import output_dir, write_text, write_with
from .runtime.result import Result
from .runtime.sinks import DepthSink, Sink, VideoSink
from .runtime.viz import DepthColorizer

if TYPE_CHECKING:
    from .data.synthetic import ClipInfo

# made by `make demo-model` (see the Makefile): training on synthetic scenes, seeds 0..N
DEMO_CHECKPOINT = Path(__file__).with_name("assets") / "demo-tiny"
DEMO_CLIP_SEED = 90210  # a room and a camera walk that training never rendered


def demo_clip(out: Path, frames: int, size: tuple[int, int] = (240, 320),
              on_frame: Callable[[int], None] | None = None) -> ClipInfo:
    """The demo's clip: a hand-held walk through a furnished room training never saw."""
    from .data.synthetic import write_clip

    return write_clip(out, n_frames=frames, size=size, seed=DEMO_CLIP_SEED, style="rooms", on_frame=on_frame)


@dataclass
class DemoSummary:
    frames: int
    delta1: float
    abs_rel: float
    rmse: float
    pipeline_fps: float
    latency_p50_ms: float
    model_input: str
    backend: str
    onnx: str
    video: str
    stop_reason: str = "end of input"


class AccuracySink(Sink):
    """Scores each frame's depth against the clip's exact depth (standard metrics, no crop) and
    keeps one chosen frame for the picture (the last one seen, when the run stops before it)."""

    def __init__(self, truth: Callable[[int], np.ndarray], keep_index: int) -> None:
        from .train.metrics import MetricAverager, get_protocol

        self.truth = truth
        self.protocol = get_protocol("standard", crop="none")
        self.avg = MetricAverager()
        self.keep_index = keep_index
        self.kept: Result | None = None

    def write(self, result: Result) -> None:
        from .train.metrics import evaluate_depth

        self.avg.update(evaluate_depth(result.depth, self.truth(result.index), self.protocol))
        if self.kept is None or self.kept.index != self.keep_index:
            self.kept = result


def run_demo(out: Path, checkpoint: Path | None = None, frames: int = 48,
             size: tuple[int, int] = (240, 320), say: Callable[[str], None] = print,
             on_frame: Callable[[int], None] | None = None) -> DemoSummary:
    """Run the whole demo into `out`; returns (and writes) the summary. on_frame(i): clip frame i
    is rendered (for a progress bar)."""
    from .export.onnx import export_onnx
    from .runtime.backends import load_backend
    from .runtime.pipeline import Pipeline
    from .runtime.sources import open_source

    ckpt = Path(checkpoint) if checkpoint else DEMO_CHECKPOINT
    if not (ckpt / "config.json").is_file():
        raise UserError(f"demo checkpoint not found at {ckpt}; make it with `make demo-model`")
    out = output_dir(out, "--out")
    _clear_earlier_run(out)
    onnx_path = out / "model-fp32.onnx"
    say(f"1/3 exporting {ckpt} -> {onnx_path} (adapters fused, parity-checked against PyTorch)")
    export_onnx(ckpt, onnx_path)
    say(f"2/3 rendering a {frames}-frame walk through a synthetic furnished room ({size[1]}x{size[0]})")
    clip = demo_clip(out / "clip", frames, size, on_frame)
    say("3/3 streaming it through `run`'s pipeline on ONNX Runtime (CPU)")
    accuracy = AccuracySink(clip.read_depth, keep_index=frames // 2)
    video = out / "run.mp4"
    with load_backend(onnx_path, "onnxruntime") as backend:
        pipeline = Pipeline(backend, open_source(str(clip.video)),
                            [VideoSink(video, fps=clip.fps), DepthSink(out / "depth"), accuracy])
        with signals.deferred():  # a signal ends the stream after its frame; the summary follows
            stats = pipeline.run()
        h, w = backend.artifact.preprocess.size
    colorize = DepthColorizer(depth_range=(0.5, 8.0), legend=False)
    if accuracy.kept is not None:
        _save_frame(accuracy.kept, clip.read_depth(accuracy.kept.index), colorize, out / "frame.png")
    if accuracy.avg.count:
        metrics = accuracy.avg.result()
    else:  # stopped by a signal before the first frame
        metrics = dict.fromkeys(("delta1", "abs_rel", "rmse"), float("nan"))
    summary = DemoSummary(
        frames=stats.frames, delta1=metrics["delta1"], abs_rel=metrics["abs_rel"],
        rmse=metrics["rmse"], pipeline_fps=stats.fps,
        latency_p50_ms=stats.latency.summary_ms()["p50"],
        model_input=f"{w}x{h}", backend="onnxruntime (CPU)", onnx=str(onnx_path), video=str(video),
        stop_reason=stats.stop_reason,
    )
    write_text(out / "summary.json", json.dumps(asdict(summary), indent=2) + "\n")
    return summary


def _clear_earlier_run(out: Path) -> None:
    """A demo into a folder holding an earlier demo replaces it: the earlier run's numbered
    depth maps go first, so a shorter run does not leave the longer one's tail beside its own
    (other files in those folders are left alone; the rest of the outputs are replaced)."""
    for folder in (out / "depth", out / "clip" / "depth"):
        for earlier in folder.glob("[0-9][0-9][0-9][0-9][0-9][0-9].png"):
            try:
                earlier.unlink()
            except OSError as exc:
                raise WriteFailed(earlier, exc) from None


def _save_frame(result: Result, truth: np.ndarray, colorize, path: Path) -> None:
    """frame | predicted depth | true depth, on one colour scale, for the README."""
    row = np.concatenate([result.image, colorize(result.depth), colorize(truth)], axis=1)
    write_with(path, lambda tmp: cv2.imwrite(str(tmp), row))
