"""`--baseline torch-eager`: the same model timed the way a user would run it without this
toolkit - the PyTorch checkpoint folder, eager mode, OpenCV preprocessing in the loop.

Measured in the same run as our configurations, so the report's speed-up is a ratio of two
numbers taken on the same machine minutes apart, not a comparison with a number from elsewhere.
torch is imported only here, and only when the baseline is asked for.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .._lazy import lazy_import
from ..data.sample import Sample
from ..errors import UserError
from .measure import Budget
from .pipeline import STAGES, summarize_pipeline
from .schema import PipelineResult


def check_baseline(spec: str, checkpoint: str | Path | None) -> None:
    """UserError unless `spec` is `torch-eager[:DEVICE]` with a checkpoint folder given: what
    can be told before torch is imported (whether DEVICE exists here is up to the run)."""
    if spec.partition(":")[0] != "torch-eager":
        raise UserError(f"unknown baseline {spec!r}; use torch-eager or torch-eager:DEVICE")
    if checkpoint is None:
        raise UserError(f"--baseline {spec} needs --checkpoint (the PyTorch checkpoint folder)")


def open_baseline(spec: str, checkpoint: str | Path | None, threads: int | None = None) -> "TorchEager":
    """`torch-eager` (CPU) or `torch-eager:DEVICE` (e.g. torch-eager:cuda) on a checkpoint folder."""
    check_baseline(spec, checkpoint)
    return TorchEager(checkpoint, spec.partition(":")[2] or "cpu", threads)  # type: ignore[arg-type]


class TorchEager:
    """A checkpoint run as a user's script would: `model(x)` under inference_mode on `device`."""

    def __init__(self, checkpoint: str | Path, device: str = "cpu", threads: int | None = None) -> None:
        self.torch = lazy_import("torch")
        from ..model.checkpoint import load_checkpoint

        if threads:
            self.torch.set_num_threads(int(threads))
        self.path = Path(checkpoint)
        self.device = device
        self.name = "torch-eager" if device == "cpu" else f"torch-eager:{device}"
        model = load_checkpoint(self.path)
        try:
            self.model = model.to(device).eval()
        except (RuntimeError, AssertionError) as exc:  # no CUDA build / no driver / bad device
            first = str(exc).strip().splitlines()[0]
            raise UserError(f"torch cannot use device {device!r}: {first}") from None
        self.size: tuple[int, int] = tuple(model.cfg.preprocess.size)  # type: ignore[assignment]

    def input(self, batch: int, hw: tuple[int, int]) -> Any:
        """A random float batch in [0, 1] on the device, like a preprocessed image."""
        return self.torch.rand(batch, 3, *hw, device=self.device)

    def forward(self, x: Any) -> np.ndarray:
        """Depth as a host numpy array (the copy back is part of a user's call)."""
        with self.torch.inference_mode():
            return self.model(x).float().cpu().numpy()

    def preprocess(self, frame_bgr: np.ndarray) -> Any:
        """The usual OpenCV + torch preprocessing: resize, BGR->RGB, /255, HWC->NCHW."""
        import cv2

        h, w = self.size
        rgb = cv2.cvtColor(cv2.resize(frame_bgr, (w, h), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)
        x = self.torch.from_numpy(rgb).permute(2, 0, 1).float().div(255.0).unsqueeze(0)
        return x.to(self.device)

    def predict(self, frame_bgr: np.ndarray) -> np.ndarray:
        """Depth (metres) at the frame's size, for scoring the baseline like our backends."""
        import cv2

        depth = self.forward(self.preprocess(frame_bgr))[0, 0]
        return cv2.resize(depth, (frame_bgr.shape[1], frame_bgr.shape[0]), interpolation=cv2.INTER_LINEAR)

    def predict_all(self, samples: Sequence[Sample], on_image: Callable[[], None]) -> list[np.ndarray]:
        """Depth of every sample (RGB) at its size, as `accuracy.predict_all` does for backends."""
        out = []
        for s in samples:
            out.append(self.predict(np.ascontiguousarray(s.rgb[:, :, ::-1])))
            on_image()
        return out

    def bench_pipeline(self, video: str | Path, budget: Budget,
                       on_frame: Callable[[], None] | None = None) -> PipelineResult:
        """The user's loop: cv2.VideoCapture -> OpenCV preprocessing -> model -> depth resized
        to the frame, one frame at a time, the clip looped until the budget is spent."""
        import cv2

        video = Path(video)
        cap = cv2.VideoCapture(str(video))
        if not cap.isOpened():
            raise UserError(f"cannot open video file {video}")
        stages: dict[str, list[float]] = {s: [] for s in STAGES}
        latency: list[float] = []
        n = 0
        try:
            for _ in range(budget.warmup):
                self._frame(cap, video, cv2)
            start = time.perf_counter()
            deadline = None if budget.seconds is None else start + budget.seconds
            while True:
                times = self._frame(cap, video, cv2)
                for k, v in times.items():
                    stages[k].append(v)
                # latency as the runtime counts it: from the frame captured to its depth
                latency.append(times["preprocess"] + times["infer"] + times["postprocess"])
                n += 1
                if on_frame is not None:
                    on_frame()
                if deadline is None and n >= budget.iters:  # type: ignore[operator]
                    break
                if deadline is not None and time.perf_counter() >= deadline and n >= budget.min_iters:
                    break
            wall = time.perf_counter() - start
        finally:
            cap.release()
        return summarize_pipeline(video.name, stages, latency, n, wall)

    def _frame(self, cap: Any, video: Path, cv2: Any) -> dict[str, float]:
        t0 = time.perf_counter()
        ok, frame = cap.read()
        if not ok:  # end of the clip: start it again
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = cap.read()
            if not ok:
                raise UserError(f"{video} has no readable frames")
        t1 = time.perf_counter()
        x = self.preprocess(frame)
        t2 = time.perf_counter()
        depth = self.forward(x)
        t3 = time.perf_counter()
        cv2.resize(depth[0, 0], (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR)
        t4 = time.perf_counter()
        return {"capture": (t1 - t0) * 1e3, "preprocess": (t2 - t1) * 1e3, "infer": (t3 - t2) * 1e3,
                "postprocess": (t4 - t3) * 1e3}

    def close(self) -> None:
        self.model = None
