"""build_model(cfg): the one place a depth model is assembled from a ModelCfg."""
from __future__ import annotations

import torch
from torch import nn

from ..config import ModelCfg
from .clip_encoder import ClipResNetEncoder, ClipViTEncoder, create_clip, encode_prompts
from .context import compute_context
from .depth_model import DepthModel
from .depthclip import DepthCLIP, depthclip_prompts


def build_model(cfg: ModelCfg, pretrained: bool = False) -> nn.Module:
    """A MoA-DepthCLIP (kind "moa") or zero-shot DepthCLIP (kind "depthclip") model, eval mode.

    pretrained=True loads `cfg.clip.pretrained` (an open_clip tag or a local file); False gives
    random CLIP weights (no download). The text tower is used once, for the context vector /
    distance-word features, and is not kept.
    """
    clip, tokenizer = create_clip(cfg, pretrained)
    visual = clip.visual
    mean, std = cfg.preprocess.mean, cfg.preprocess.std
    if cfg.kind == "moa":
        if not hasattr(visual, "transformer"):
            raise ValueError(f"MoA-DepthCLIP needs a ViT backbone, not {cfg.clip.model_name}")
        context = compute_context(clip, tokenizer, cfg.context)
        model: nn.Module = DepthModel(cfg, ClipViTEncoder(visual, mean, std), context)
    elif cfg.kind == "depthclip":
        text = encode_prompts(clip, tokenizer, depthclip_prompts(cfg.depthclip))
        enc = ClipViTEncoder(visual, mean, std) if hasattr(visual, "transformer") \
            else ClipResNetEncoder(visual, mean, std)
        model = DepthCLIP(cfg, enc, text)
    else:
        raise ValueError(f"unknown model kind {cfg.kind!r} (moa or depthclip)")
    del clip
    return model.eval()


@torch.no_grad()
def parameter_counts(model: nn.Module) -> dict[str, tuple[int, int]]:
    """{part: (total, trainable)} for the top-level parts plus "all"."""
    counts: dict[str, tuple[int, int]] = {}
    for name, child in model.named_children():
        ps = list(child.parameters())
        counts[name] = (sum(p.numel() for p in ps), sum(p.numel() for p in ps if p.requires_grad))
    ps = list(model.parameters())
    counts["all"] = (sum(p.numel() for p in ps), sum(p.numel() for p in ps if p.requires_grad))
    return counts
