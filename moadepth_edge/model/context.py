"""The global context vector: scene prompts through the frozen text tower, averaged."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..config import ContextCfg
from .clip_encoder import encode_prompts


def context_prompts(cfg: ContextCfg) -> list[str]:
    return [cfg.template.format(scene) for scene in cfg.scenes]


def compute_context(clip: nn.Module, tokenizer: Callable, cfg: ContextCfg) -> torch.Tensor:
    """c = mean over prompts of L2-normalised text embeddings, shape [C]."""
    return encode_prompts(clip, tokenizer, context_prompts(cfg)).mean(dim=0)
