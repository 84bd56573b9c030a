"""Mixture-of-Adapters: K bottleneck experts mixed token-wise by a softmax router."""
from __future__ import annotations

import torch
from torch import nn

from ..config import MoACfg


class Expert(nn.Module):
    """W2 . GELU(W1 . x): one bottleneck adapter."""

    def __init__(self, dim: int, bottleneck: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, bottleneck)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(bottleneck, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Router(nn.Module):
    """g = softmax(G(x) / tau), G = Linear(dim, hidden) - ReLU - Linear(hidden, K)."""

    def __init__(self, dim: int, hidden: int, num_experts: int, tau: float) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, num_experts))
        self.tau = tau

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(x) / self.tau, dim=-1)


class MoA(nn.Module):
    """x + sum_k g_k(x) E_k(x) on the residual stream; soft routing in training and inference."""

    def __init__(self, dim: int, cfg: MoACfg) -> None:
        super().__init__()
        self.experts = nn.ModuleList(Expert(dim, cfg.bottleneck) for _ in range(cfg.num_experts))
        self.router = Router(dim, cfg.router_hidden, cfg.num_experts, cfg.tau)

    def forward_with_weights(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(output, router weights [B, T, K])."""
        g = self.router(x)
        out = torch.stack([e(x) for e in self.experts], dim=-1)  # [B, T, D, K]
        return x + (out * g.unsqueeze(-2)).sum(-1), g

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_weights(x)[0]


def router_entropy(weights: torch.Tensor) -> torch.Tensor:
    """Mean per-token entropy (nats) of router weights [..., K]; logged, not a loss."""
    return -(weights * weights.clamp_min(1e-12).log()).sum(-1).mean()
