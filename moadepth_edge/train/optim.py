"""AdamW over the trainable parameters and the learning-rate schedules of TrainCfg."""
from __future__ import annotations

import math

import torch
from torch import nn

from ..config import TrainCfg
from ..errors import UserError


def build_optimizer(model: nn.Module, cfg: TrainCfg) -> torch.optim.AdamW:
    """AdamW (paper: lr 1e-5, weight decay 1e-4) over the parameters that require grad."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise UserError("the model has no trainable parameters")
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def build_scheduler(opt: torch.optim.Optimizer, cfg: TrainCfg, total_steps: int):
    """Per-step schedule: "constant" (the paper's), "cosine" to 0, or "onecycle"; linear
    warm-up over cfg.warmup_steps for constant and cosine."""
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(total_steps, 1))
    if cfg.schedule not in ("constant", "cosine"):
        raise UserError(f"unknown schedule {cfg.schedule!r}; use constant, cosine or onecycle")
    warm, total, cosine = cfg.warmup_steps, max(total_steps, 1), cfg.schedule == "cosine"

    def factor(step: int) -> float:
        f = min(1.0, (step + 1) / warm) if warm else 1.0
        if cosine:
            f *= 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
        return f

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)
