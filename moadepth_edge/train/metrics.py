"""Monocular depth metrics (numpy), computed per image and averaged over images.

Definitions follow the common evaluation code (Eigen et al. 2014; BTS; AdaBins): with valid
ground truth g and prediction p,
    delta_i = mean(max(g/p, p/g) < 1.25^i), AbsRel = mean(|g-p|/g), SqRel = mean((g-p)^2/g),
    RMSE = sqrt(mean((g-p)^2)), RMSE-log = sqrt(mean((ln g - ln p)^2)),
    log10 = mean(|log10 g - log10 p|), SILog = 100 sqrt(mean(e^2) - mean(e)^2), e = ln p - ln g.

Protocols: "standard" (NYU: 1e-3 < g < 10 m, predictions clamped to that range, Eigen crop
rows 45:471 cols 41:601 of 480x640) and "paper" (the MoA-DepthCLIP authors': Garg crop and
per-image median scaling). Crops scale proportionally for other frame sizes.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import UserError

METRICS = ("delta1", "delta2", "delta3", "abs_rel", "sq_rel", "rmse", "rmse_log", "log10", "silog")
HIGHER_IS_BETTER = {"delta1", "delta2", "delta3"}


@dataclass(frozen=True)
class Protocol:
    name: str
    min_depth: float = 1e-3
    max_depth: float = 10.0
    crop: Literal["eigen", "garg", "none"] = "eigen"
    median_scaling: bool = False


PROTOCOLS = {
    "standard": Protocol("standard", crop="eigen"),
    "paper": Protocol("paper", crop="garg", median_scaling=True),
}


def get_protocol(name: str, max_depth: float | None = None, crop: str | None = None) -> Protocol:
    """A named protocol, optionally with another max depth (80 m for KITTI) or crop."""
    if name not in PROTOCOLS:
        raise UserError(f"unknown protocol {name!r}; use one of: {', '.join(PROTOCOLS)}")
    if crop is not None and crop not in ("eigen", "garg", "none"):
        raise UserError(f"unknown crop {crop!r}; use eigen, garg or none")
    p = PROTOCOLS[name]
    return dataclasses.replace(p, max_depth=max_depth if max_depth is not None else p.max_depth,
                               crop=crop or p.crop)


def crop_mask(shape: tuple[int, int], crop: str) -> np.ndarray:
    """Boolean mask of the evaluation crop for a frame of `shape` (height, width)."""
    h, w = shape
    mask = np.zeros((h, w), dtype=bool)
    if crop == "none":
        mask[:] = True
    elif crop == "eigen":  # defined on 480x640
        mask[int(45 * h / 480):int(471 * h / 480), int(41 * w / 640):int(601 * w / 640)] = True
    elif crop == "garg":  # Garg et al. 2016, as fractions of the frame
        mask[int(0.40810811 * h):int(0.99189189 * h), int(0.03594771 * w):int(0.96405229 * w)] = True
    else:
        raise UserError(f"unknown crop {crop!r}; use eigen, garg or none")
    return mask


def compute_errors(gt: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """All metrics over matching 1-D arrays of valid, positive depths."""
    gt = gt.astype(np.float64)
    pred = pred.astype(np.float64)
    thresh = np.maximum(gt / pred, pred / gt)
    err = np.log(pred) - np.log(gt)
    return {
        "delta1": float(np.mean(thresh < 1.25)),
        "delta2": float(np.mean(thresh < 1.25 ** 2)),
        "delta3": float(np.mean(thresh < 1.25 ** 3)),
        "abs_rel": float(np.mean(np.abs(gt - pred) / gt)),
        "sq_rel": float(np.mean((gt - pred) ** 2 / gt)),
        "rmse": float(np.sqrt(np.mean((gt - pred) ** 2))),
        "rmse_log": float(np.sqrt(np.mean(err ** 2))),
        "log10": float(np.mean(np.abs(np.log10(gt) - np.log10(pred)))),
        "silog": float(100.0 * np.sqrt(max(np.mean(err ** 2) - np.mean(err) ** 2, 0.0))),
    }


def eval_mask(gt: np.ndarray, protocol: Protocol, valid: np.ndarray | None = None) -> np.ndarray:
    """The pixels `protocol` scores: finite ground truth within its depth range, valid, in its crop."""
    with np.errstate(invalid="ignore"):
        mask = np.isfinite(gt) & (gt > protocol.min_depth) & (gt < protocol.max_depth)
    if valid is not None:
        mask &= valid
    return mask & crop_mask(gt.shape, protocol.crop)


def evaluate_depth(pred: np.ndarray, gt: np.ndarray, protocol: Protocol,
                   valid: np.ndarray | None = None) -> dict[str, float] | None:
    """Metrics of one image (pred and gt HxW metres, same size); None when no pixel is valid."""
    if pred.shape != gt.shape:
        raise UserError(f"prediction {pred.shape} and ground truth {gt.shape} differ in size")
    mask = eval_mask(gt, protocol, valid)
    if not mask.any():
        return None
    p = np.nan_to_num(pred[mask].astype(np.float64), nan=protocol.min_depth)
    g = gt[mask]
    if protocol.median_scaling:
        p = p * (np.median(g) / max(np.median(p), 1e-12))
    p = np.clip(p, protocol.min_depth, protocol.max_depth)
    return compute_errors(g, p)


class MetricAverager:
    """Averages per-image metric dicts (images without valid pixels are not counted)."""

    def __init__(self) -> None:
        self.sums = dict.fromkeys(METRICS, 0.0)
        self.count = 0

    def update(self, metrics: dict[str, float] | None) -> None:
        if metrics is None:
            return
        for k in METRICS:
            self.sums[k] += metrics[k]
        self.count += 1

    def result(self) -> dict[str, float]:
        if self.count == 0:
            raise UserError("no image had valid ground truth to evaluate")
        return {k: v / self.count for k, v in self.sums.items()}
