"""Hybrid depth head on the token grid: bin classification + direct regression, fused."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import BinsCfg, HeadCfg
from .bins import bin_centers, depth_from_unit


@dataclass
class HeadOutput:
    depth: torch.Tensor  # fused [B, 1, h, w]
    bin_logits: torch.Tensor  # [B, N, h, w]
    bin_depth: torch.Tensor  # [B, 1, h, w]
    reg_depth: torch.Tensor  # [B, 1, h, w]
    gate: torch.Tensor | None  # [B, 1, h, w], weight of the bin depth


class HybridHead(nn.Module):
    """Per token: h = GELU(W [f; c] + b); bins = softmax(W_b h); reg = W_r h; gate = sigmoid(W_g h).

    `context_dim` is the width of the concatenated context vector; 0 once the export has
    folded the constant context into the first layer's bias.
    """

    def __init__(self, feat_dim: int, context_dim: int, cfg: HeadCfg, bins: BinsCfg) -> None:
        super().__init__()
        self.fusion = cfg.fusion
        self.bins_cfg = bins
        self.proj = nn.Linear(feat_dim + context_dim, cfg.hidden)
        self.act = nn.GELU()
        self.bin_logits = nn.Linear(cfg.hidden, bins.n_bins)
        self.regress = nn.Linear(cfg.hidden, 1)
        self.gate = nn.Linear(cfg.hidden, 1) if cfg.fusion == "gate" else None
        self.register_buffer("centers", bin_centers(bins), persistent=False)

    def forward(self, feats: torch.Tensor, grid: tuple[int, int],
                context: torch.Tensor | None = None) -> HeadOutput:
        """feats [B, h*w, D]; context [C] (None when folded). Returns token-grid maps."""
        if context is not None:
            feats = torch.cat([feats, context.to(feats.dtype).expand(*feats.shape[:2], -1)], dim=-1)
        h = self.act(self.proj(feats))
        logits = self.bin_logits(h)  # [B, T, N]
        # softmax and expectation in float32: FP16 exports keep this part in float
        probs = torch.softmax(logits.float(), dim=-1)
        bin_depth = probs @ self.centers.float().unsqueeze(-1)  # [B, T, 1]
        reg_depth = depth_from_unit(torch.sigmoid(self.regress(h).float()), self.bins_cfg)
        if self.gate is not None:
            gate = torch.sigmoid(self.gate(h).float())
            depth = gate * bin_depth + (1 - gate) * reg_depth
        else:
            gate = None
            depth = 0.5 * (bin_depth + reg_depth)

        def to_map(t: torch.Tensor) -> torch.Tensor:
            return t.transpose(1, 2).reshape(t.shape[0], t.shape[2], *grid)

        return HeadOutput(
            depth=to_map(depth), bin_logits=to_map(logits), bin_depth=to_map(bin_depth),
            reg_depth=to_map(reg_depth), gate=None if gate is None else to_map(gate),
        )


def upsample_depth(depth: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear upsampling of a 1-channel depth map to the input size."""
    return F.interpolate(depth, size=size, mode="bilinear", align_corners=False)
