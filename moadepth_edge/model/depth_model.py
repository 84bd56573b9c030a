"""MoA-DepthCLIP: CLIP ViT + Mixture-of-Adapters + context vector + hybrid head."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..config import ModelCfg
from .clip_encoder import ClipViTEncoder
from .heads import HybridHead, upsample_depth
from .moa import MoA


@dataclass
class DepthOutput:
    """Everything training needs; `depth` alone is what `forward` returns."""

    depth: torch.Tensor  # [B, 1, H, W] metres, fused and upsampled
    grid_depth: torch.Tensor  # [B, 1, h, w]
    bin_logits: torch.Tensor  # [B, N, h, w]
    bin_depth: torch.Tensor  # [B, 1, h, w]
    reg_depth: torch.Tensor  # [B, 1, h, w]
    gate: torch.Tensor | None  # [B, 1, h, w]
    router_weights: list[torch.Tensor]  # per MoA module, [B, T, K]


class DepthModel(nn.Module):
    """forward(image [B, 3, H, W] in [0, 1]) -> depth [B, 1, H, W] in metres."""

    def __init__(self, cfg: ModelCfg, encoder: ClipViTEncoder, context: torch.Tensor) -> None:
        super().__init__()
        n_blocks = len(encoder.blocks)
        bad = [i for i in cfg.moa.layers if not 0 <= i < n_blocks]
        if bad:
            raise ValueError(f"MoA layers {bad} out of range for a {n_blocks}-block ViT")
        self.cfg = cfg
        self.encoder = encoder
        self.moa = nn.ModuleDict({str(i): MoA(encoder.width, cfg.moa) for i in cfg.moa.layers})
        # constant after construction: saved with the weights, never recomputed on load
        self.register_buffer("context", context.detach().clone().float())
        self.use_context = True  # False once the export folds it into the head's bias
        self.head = HybridHead(encoder.out_dim, context.numel(), cfg.head, cfg.bins)
        self.apply_freezing()

    @property
    def bin_centers(self) -> torch.Tensor:
        return self.head.centers

    def apply_freezing(self) -> None:
        """Only the last `trainable_blocks` ViT blocks, the MoA modules and the head train."""
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        n = self.cfg.trainable_blocks
        for blk in list(self.encoder.blocks)[len(self.encoder.blocks) - n:] if n > 0 else []:
            for p in blk.parameters():
                p.requires_grad_(True)

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def _tokens(self, image: torch.Tensor, routes: list[torch.Tensor] | None):
        x, grid = self.encoder.embed(image)
        for i, blk in enumerate(self.encoder.blocks):
            x = blk(x)
            moa = self.moa[str(i)] if str(i) in self.moa else None
            if moa is None:
                continue
            if routes is None:
                x = moa(x)
            else:
                x, g = moa.forward_with_weights(x)
                routes.append(g)
        return self.encoder.project(x), grid

    def forward_train(self, image: torch.Tensor) -> DepthOutput:
        """Depth plus the auxiliary outputs (bin logits, regression, gate, router weights)."""
        routes: list[torch.Tensor] = []
        feats, grid = self._tokens(image, routes)
        out = self.head(feats, grid, self.context if self.use_context else None)
        return DepthOutput(
            depth=upsample_depth(out.depth, image.shape[-2:]), grid_depth=out.depth,
            bin_logits=out.bin_logits, bin_depth=out.bin_depth, reg_depth=out.reg_depth,
            gate=out.gate, router_weights=routes,
        )

    def forward_grid(self, image: torch.Tensor) -> torch.Tensor:
        """Fused depth on the token grid [B, 1, h, w], before upsampling."""
        feats, grid = self._tokens(image, None)
        return self.head(feats, grid, self.context if self.use_context else None).depth

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return upsample_depth(self.forward_grid(image), image.shape[-2:])
