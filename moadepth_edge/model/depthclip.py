"""Zero-shot DepthCLIP (Zhang et al. 2022): patch features vs. distance-word prompts."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import DepthCLIPCfg, ModelCfg
from .heads import upsample_depth


def depthclip_prompts(cfg: DepthCLIPCfg) -> list[str]:
    return [cfg.template.format(cfg.object_name, word) for word in cfg.words]


def depth_from_similarity(sim: torch.Tensor, depths: torch.Tensor, temperature: float) -> torch.Tensor:
    """sim [B, K, h, w] (already x logit_scale) -> depth [B, 1, h, w] = sum softmax(sim/T) * d."""
    probs = torch.softmax(sim / temperature, dim=1)
    return (probs * depths.view(1, -1, 1, 1)).sum(dim=1, keepdim=True)


class DepthCLIP(nn.Module):
    """forward(image [B, 3, H, W] in [0, 1]) -> depth [B, 1, H, W]; nothing trains."""

    def __init__(self, cfg: ModelCfg, encoder: nn.Module, text_features: torch.Tensor) -> None:
        super().__init__()
        if len(cfg.depthclip.words) != len(cfg.depthclip.depths):
            raise ValueError("DepthCLIP needs one depth per distance word")
        self.cfg = cfg
        self.encoder = encoder
        self.register_buffer("text_features", text_features.detach().clone().float())
        self.register_buffer("depths", torch.tensor(cfg.depthclip.depths, dtype=torch.float32))
        for p in self.parameters():
            p.requires_grad_(False)

    def trainable_parameters(self) -> list[nn.Parameter]:
        return []

    def forward_grid(self, image: torch.Tensor) -> torch.Tensor:
        """Depth on the feature grid [B, 1, h, w], before upsampling."""
        feats = F.normalize(self.encoder(image), dim=-1)  # [B, h*w, C]
        h, w = self.encoder.grid_size(*image.shape[-2:])
        sim = self.cfg.depthclip.logit_scale * feats @ self.text_features.t()  # [B, h*w, K]
        sim = sim.transpose(1, 2).reshape(image.shape[0], -1, h, w)
        return depth_from_similarity(sim, self.depths, self.cfg.depthclip.temperature)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return upsample_depth(self.forward_grid(image), image.shape[-2:])
