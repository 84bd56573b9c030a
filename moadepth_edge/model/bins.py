"""Depth bins: centres (log or linear spacing) and the nearest-bin index of a depth."""
from __future__ import annotations

import math

import torch

from ..config import BinsCfg


def _to_space(depth: torch.Tensor, cfg: BinsCfg) -> torch.Tensor:
    return depth.clamp_min(1e-6).log() if cfg.spacing == "log" else depth


def bin_centers(cfg: BinsCfg) -> torch.Tensor:
    """The N bin centres in metres, evenly spaced in log or linear depth over [min, max]."""
    if cfg.spacing == "log":
        return torch.logspace(math.log10(cfg.min_depth), math.log10(cfg.max_depth), cfg.n_bins)
    if cfg.spacing == "linear":
        return torch.linspace(cfg.min_depth, cfg.max_depth, cfg.n_bins)
    raise ValueError(f"unknown bin spacing {cfg.spacing!r} (log or linear)")


def depth_to_bin_index(depth: torch.Tensor, cfg: BinsCfg) -> torch.Tensor:
    """Index of the nearest bin centre (nearest in the spacing's own space), as int64."""
    centers = _to_space(bin_centers(cfg).to(depth.device, depth.dtype), cfg)
    x = _to_space(depth.clamp(cfg.min_depth, cfg.max_depth), cfg)
    step = (centers[-1] - centers[0]) / max(cfg.n_bins - 1, 1)
    return ((x - centers[0]) / step).round().clamp(0, cfg.n_bins - 1).long()


def depth_from_unit(u: torch.Tensor, cfg: BinsCfg) -> torch.Tensor:
    """Map u in (0, 1) onto [min, max] depth along the bins' spacing (the regression output)."""
    if cfg.spacing == "log":
        lo, hi = math.log(cfg.min_depth), math.log(cfg.max_depth)
        return torch.exp(lo + u * (hi - lo))
    return cfg.min_depth + u * (cfg.max_depth - cfg.min_depth)
