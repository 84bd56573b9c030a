"""MoA-DepthCLIP training loss: w_ce CE(bin index) + w_l1 L1(regression) + w_si SILog(depth),
masked to valid pixels (paper weights 1.0 / 1.0 / 0.5, LossCfg).

The head works on the token grid, so CE compares the bin logits with the ground truth pooled
onto that grid (geometric mean of each cell's valid pixels; cells without one are ignored):
upsampling N logits to full resolution would cost N times the memory for the same targets.
L1 compares the regression branch and SILog the fused output, both upsampled to the
ground-truth resolution, pixel by pixel.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import BinsCfg, LossCfg
from ..model.bins import depth_to_bin_index
from ..model.heads import upsample_depth

EPS = 1e-6


def pool_to_grid(depth: torch.Tensor, valid: torch.Tensor, grid: tuple[int, int]):
    """Ground truth [B,1,H,W] -> ([B,1,h,w] geometric mean of valid pixels, [B,1,h,w] mask)."""
    m = valid.float()
    log_d = torch.where(valid, depth.clamp_min(EPS).log(), torch.zeros_like(depth))
    frac = F.adaptive_avg_pool2d(m, grid)
    mean_log = F.adaptive_avg_pool2d(log_d, grid) / frac.clamp_min(EPS)
    return mean_log.exp(), frac > 0


def bin_ce_loss(logits: torch.Tensor, depth: torch.Tensor, valid: torch.Tensor,
                bins: BinsCfg) -> torch.Tensor:
    """Cross-entropy of the token-grid bin logits [B,N,h,w] against the nearest-bin index."""
    grid_depth, grid_valid = pool_to_grid(depth, valid, tuple(logits.shape[-2:]))
    target = depth_to_bin_index(grid_depth, bins)[:, 0]
    ce = F.cross_entropy(logits.float(), target, reduction="none")
    mask = grid_valid[:, 0]
    return (ce * mask).sum() / mask.sum().clamp_min(1)


def l1_loss(pred: torch.Tensor, depth: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean absolute error in metres over valid pixels (pred upsampled to depth's size)."""
    pred = _to_size(pred, depth)
    return ((pred - depth).abs() * valid).sum() / valid.sum().clamp_min(1)


def silog_loss(pred: torch.Tensor, depth: torch.Tensor, valid: torch.Tensor,
               lam: float = 0.85) -> torch.Tensor:
    """10 sqrt(mean(g^2) - lam mean(g)^2), g = log pred - log gt over the batch's valid pixels."""
    pred = _to_size(pred, depth)
    g = pred.clamp_min(1e-3).log() - depth.clamp_min(EPS).log()
    g = g[valid]
    if g.numel() == 0:
        return pred.sum() * 0.0
    var = (g ** 2).mean() - lam * g.mean() ** 2
    return 10.0 * var.clamp_min(EPS).sqrt()


def router_entropy(router_weights: list[torch.Tensor]) -> torch.Tensor:
    """Mean per-token entropy (nats) of the MoA routing distributions, over all modules."""
    if not router_weights:
        return torch.zeros(())
    ent = [-(g.float() * g.float().clamp_min(1e-12).log()).sum(-1).mean() for g in router_weights]
    return torch.stack(ent).mean()


def _to_size(pred: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
    return pred if pred.shape[-2:] == depth.shape[-2:] else upsample_depth(pred.float(), depth.shape[-2:])


@dataclass
class LossParts:
    total: torch.Tensor
    ce: torch.Tensor
    l1: torch.Tensor
    silog: torch.Tensor

    def as_floats(self) -> dict[str, float]:
        return {k: float(getattr(self, k).detach()) for k in ("total", "ce", "l1", "silog")}


class DepthLoss(nn.Module):
    """The weighted sum, on a model's `forward_train` output (DepthOutput)."""

    def __init__(self, cfg: LossCfg, bins: BinsCfg) -> None:
        super().__init__()
        self.cfg, self.bins = cfg, bins

    def forward(self, out, depth: torch.Tensor, valid: torch.Tensor) -> LossParts:
        zero = out.depth.sum() * 0.0
        ce = bin_ce_loss(out.bin_logits, depth, valid, self.bins) if self.cfg.ce else zero
        l1 = l1_loss(out.reg_depth, depth, valid) if self.cfg.l1 else zero
        si = silog_loss(out.depth, depth, valid, self.cfg.silog_lambda) if self.cfg.silog else zero
        total = self.cfg.ce * ce + self.cfg.l1 * l1 + self.cfg.silog * si
        return LossParts(total, ce, l1, si)
