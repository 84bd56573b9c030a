"""Evaluate a depth model on a reader: predict at the model's input size, upsample to the
ground truth's size, put it in metres for the sample's own camera (f_sample / f_training,
formats/camera.py, where the sample has intrinsics), score with a Protocol, average per image."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..data.sample import DepthReader, Sample
from ..formats.camera import depth_scale
from ..formats.preprocess import depth_to_frame, rgb_to_input
from .metrics import MetricAverager, Protocol, evaluate_depth


@torch.no_grad()
def predict(model: nn.Module, images: list[np.ndarray], *, flip_tta: bool = False,
            device: str | torch.device = "cpu") -> list[np.ndarray]:
    """Depth (metres, float32) for each RGB uint8 image, at that image's own size.

    Input and output go through the one preprocessing definition (formats/preprocess.py), as
    the exported model at runtime does; flip_tta averages with the mirrored prediction.
    """
    pre = model.cfg.preprocess
    x = torch.from_numpy(np.stack([rgb_to_input(im, pre) for im in images])).to(device)
    depth = model(x)
    if flip_tta:
        depth = 0.5 * (depth + model(x.flip(-1)).flip(-1))
    return [depth_to_frame(d.float().cpu().numpy(), im.shape[:2]) for d, im in zip(depth, images)]


@dataclass
class EvalResult:
    metrics: dict[str, float]
    count: int  # images with valid ground truth
    per_image: list[dict] = field(default_factory=list)  # {"name": ..., **metrics}


class EvalStopped(Exception):
    """evaluate()'s stop() said True: no metrics for this evaluation."""


def evaluate(
    model: nn.Module,
    reader: DepthReader,
    protocol: Protocol,
    *,
    flip_tta: bool = False,
    batch_size: int = 8,
    device: str | torch.device = "cpu",
    limit: int | None = None,
    on_batch: Callable[[int], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> EvalResult:
    """Per-image-averaged metrics of `model` on the first `limit` samples of `reader`.
    on_batch(n) is called after each batch of n images (for progress bars); stop() before
    each batch, and EvalStopped is raised when it says True (a signal during training)."""
    was_training = model.training
    model.eval()
    n = len(reader) if limit is None else min(limit, len(reader))
    avg = MetricAverager()
    per_image = []
    try:
        for start in range(0, n, batch_size):
            if stop is not None and stop():
                raise EvalStopped(f"evaluation stopped after {start} of {n} images")
            samples: list[Sample] = [reader[i] for i in range(start, min(start + batch_size, n))]
            preds = predict(model, [s.rgb for s in samples], flip_tta=flip_tta, device=device)
            for s, p in zip(samples, preds):
                if s.intrinsics is not None:
                    p = p * np.float32(depth_scale(model.cfg, s.intrinsics.fx, s.intrinsics.fy, s.rgb.shape[:2]))
                m = evaluate_depth(p, s.depth, protocol, s.valid)
                avg.update(m)
                if m is not None:
                    per_image.append({"name": s.name, **m})
            if on_batch is not None:
                on_batch(len(samples))
    finally:
        model.train(was_training)
    return EvalResult(avg.result(), avg.count, per_image)
