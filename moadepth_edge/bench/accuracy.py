"""Accuracy of a backend: standard depth metrics against ground truth, and agreement with an
FP32 reference model on the same inputs (what an INT8/FP16 build costs in depth).

Datasets: `synthetic:N` (N held-out rendered rooms, exact depth) or `nyu:PATH` (a BTS-style
NYU folder / list file, or the official labeled .mat). Each image goes through the model's own
preprocessing (from its artifact) and comes back at the image's size, as in the runtime.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..data.sample import DepthReader, Sample
from ..data.spec import KINDS, open_reader
from ..errors import UserError
from ..runtime.backends.base import Backend
from ..formats.camera import depth_scale
from ..formats.preprocess import Preprocessor, depth_to_frame
from ..train.metrics import MetricAverager, Protocol, evaluate_depth
from .schema import AccuracyResult, AgreementResult

METRIC_DECIMALS = 4


def open_dataset(spec: str) -> DepthReader:
    """The held-out / test split of a `--data` spec (data/spec.py): `synthetic:N`, `nyu:PATH`..."""
    if spec.partition(":")[0] not in KINDS or not spec.partition(":")[2]:
        raise UserError(f"--data must be kind:PATH or synthetic:N ({', '.join(KINDS)}), got {spec!r}")
    return open_reader(spec, "test")


def predict(backend: Backend, pre: Preprocessor, sample: Sample) -> np.ndarray:
    """Depth (metres) at the sample's size, through the model's own preprocessing, scaled to
    the sample's camera where the data set knows it (formats/camera.py), as `run --intrinsics`."""
    depth = depth_to_frame(backend.infer(pre(np.ascontiguousarray(sample.rgb[:, :, ::-1]))), sample.rgb.shape[:2])
    k = sample.intrinsics
    if k is None:
        return depth
    return depth * np.float32(depth_scale(backend.artifact.model_cfg, k.fx, k.fy, sample.rgb.shape[:2]))


def predict_all(backend: Backend, samples: Sequence[Sample],
                on_image: Callable[[], None] | None = None) -> list[np.ndarray]:
    """Depth of every sample; `on_image` is called after each (progress)."""
    pre = Preprocessor(backend.artifact)
    out = []
    for s in samples:
        out.append(predict(backend, pre, s))
        if on_image is not None:
            on_image()
    return out


def score(preds: Sequence[np.ndarray], samples: Sequence[Sample], protocol: Protocol,
          dataset: str) -> AccuracyResult:
    """Metrics averaged per image (images without valid ground truth are not counted)."""
    avg = MetricAverager()
    for pred, s in zip(preds, samples):
        avg.update(evaluate_depth(pred, s.depth, protocol, s.valid))
    metrics = {k: round(v, METRIC_DECIMALS) for k, v in avg.result().items()}
    return AccuracyResult(dataset=dataset, images=avg.count, metrics=metrics)


def agreement(preds: Sequence[np.ndarray], refs: Sequence[np.ndarray], reference: str) -> AgreementResult:
    """Pixel agreement of `preds` with the reference's predictions of the same images."""
    if not preds or len(preds) != len(refs):
        raise UserError("agreement needs the same, non-empty set of images for both models")
    inside, total, max_err, abs_sum = 0, 0, 0.0, 0.0
    for p, r in zip(preds, refs):
        p64 = np.maximum(p.astype(np.float64), 1e-3)
        r64 = np.maximum(r.astype(np.float64), 1e-3)
        inside += int(np.count_nonzero(np.maximum(p64 / r64, r64 / p64) < 1.25))
        err = np.abs(p.astype(np.float64) - r.astype(np.float64))
        max_err, abs_sum, total = max(max_err, float(err.max())), abs_sum + float(err.sum()), total + err.size
    return AgreementResult(
        reference=reference, images=len(preds),
        delta1_agreement=round(inside / total, METRIC_DECIMALS),
        max_abs_err_m=round(max_err, METRIC_DECIMALS), mean_abs_err_m=round(abs_sum / total, METRIC_DECIMALS),
    )
