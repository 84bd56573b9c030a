"""Export-time folds: the same function as the trained model, fewer and larger operations.

Each fold is exact up to float32 rounding and checked by tests against the unfused module:

- `FusedMoA`: the K experts' first layers become one Linear (d -> K*b), the router's gates
  scale each b-wide slice, and the second layers become one Linear (K*b + K -> d) whose last
  K inputs are the gates themselves, carrying the gate-weighted second-layer biases. Two
  matrix products per MoA module instead of 2K, plus the router.
- `fold_context`: the constant context vector's share of the head's first layer moves into
  its bias, so the graph has no text features and no concatenation.
- `fold_input_transform`: CLIP's mean/std (and optionally the 1/255 scale and BGR order of a
  raw frame) fold into the patch-embedding convolution, which gains a bias.
- `FrameInput`: the `--embed-preprocess` wrapper (uint8 BGR NHWC frame of any size in, depth
  at the frame's size out); resizing stays a Resize node, the rest is folded.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UserError
from ..model.moa import MoA


class FusedMoA(nn.Module):
    """x + fc2([g (x) GELU(fc1 x) ; g]), g = router(x): MoA with its experts concatenated."""

    def __init__(self, moa: MoA) -> None:
        super().__init__()
        experts = list(moa.experts)
        first, second = [e.fc1 for e in experts], [e.fc2 for e in experts]
        self.num_experts = len(experts)
        self.bottleneck = first[0].out_features
        dim = first[0].in_features
        self.fc1 = nn.Linear(dim, self.num_experts * self.bottleneck)
        self.act = copy.deepcopy(experts[0].act)
        self.fc2 = nn.Linear(self.num_experts * (self.bottleneck + 1), dim, bias=False)
        self.router = copy.deepcopy(moa.router)
        with torch.no_grad():
            self.fc1.weight.copy_(torch.cat([l.weight for l in first], dim=0))
            self.fc1.bias.copy_(torch.cat([l.bias for l in first], dim=0))
            biases = torch.stack([l.bias for l in second], dim=1)  # [d, K]
            self.fc2.weight.copy_(torch.cat([l.weight for l in second] + [biases], dim=1))

    def forward_with_weights(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(output, router weights [B, T, K]), as MoA.forward_with_weights."""
        g = self.router(x)
        h = self.act(self.fc1(x)).unflatten(-1, (self.num_experts, self.bottleneck))
        h = (h * g.unsqueeze(-1)).flatten(-2)
        return x + self.fc2(torch.cat([h, g], dim=-1)), g

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_weights(x)[0]


def fuse_moa(model: nn.Module) -> nn.Module:
    """Replace every MoA of `model.moa` by its FusedMoA (in place); returns `model`."""
    for key, moa in list(model.moa.items()):
        if isinstance(moa, MoA):
            model.moa[key] = FusedMoA(moa)
    return model


@torch.no_grad()
def fold_context(model: nn.Module) -> nn.Module:
    """Fold the constant context vector into the head's first bias (in place); returns `model`.

    proj([f; c]) = W_f f + (b + W_c c): proj becomes Linear(feat_dim, hidden) and
    `model.use_context` turns False, so the head concatenates nothing.
    """
    if not model.use_context:
        return model
    proj, c = model.head.proj, model.context.double()
    feat_dim = proj.in_features - c.numel()
    folded = nn.Linear(feat_dim, proj.out_features)
    folded.weight.copy_(proj.weight[:, :feat_dim])
    folded.bias.copy_(proj.bias.double() + proj.weight[:, feat_dim:].double() @ c)
    model.head.proj = folded
    model.use_context = False
    return model


@torch.no_grad()
def fold_input_transform(encoder: nn.Module, scale: float = 1.0, bgr: bool = False) -> nn.Module:
    """Fold (x * scale [, BGR->RGB] - mean) / std into the patch conv (in place); returns `encoder`.

    conv(W, (s x - m) / std) = conv(W s / std, x) - sum W m / std: exact for CLIP's patch
    embedding (stride = kernel, no padding, so every output sees whole patches).
    """
    conv = encoder.visual.conv1
    if not encoder.normalize:
        raise ValueError("the encoder's normalisation is already folded")
    if conv.groups != 1 or any(p != 0 for p in _pairs(conv.padding)):
        raise ValueError("cannot fold normalisation into a padded or grouped patch convolution")
    mean = encoder.mean.double().view(1, 3, 1, 1)
    std = encoder.std.double().view(1, 3, 1, 1)
    weight = conv.weight.double() / std
    bias = -(weight * mean).sum(dim=(1, 2, 3))
    if conv.bias is not None:
        bias = bias + conv.bias.double()
    weight = weight * scale
    if bgr:
        weight = weight.flip(1)  # input channel 0 is blue: reorder the weights, not the pixels
    folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                       padding=0, bias=True)
    folded.weight.copy_(weight.to(conv.weight.dtype))
    folded.bias.copy_(bias.to(conv.weight.dtype))
    encoder.visual.conv1 = folded
    encoder.normalize = False
    return encoder


def _pairs(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def can_fold_input(model: nn.Module) -> bool:
    """Whether the model's encoder normalises inside (CLIP ViTs; not the RN50 baseline)."""
    return getattr(model.encoder, "normalize", False) is True


def fuse_model(model: nn.Module, *, moa: bool = True, context: bool = True,
               normalization: bool = True, frame_input: bool = False) -> nn.Module:
    """An eval-mode fused copy of `model` (the original is untouched).

    frame_input=True folds the 1/255 scale and BGR order too, for `FrameInput`.
    DepthCLIP models get only the normalisation fold (they have no MoA or context), and
    encoders that cannot fold it (`can_fold_input`) keep their normalisation.
    """
    fused = copy.deepcopy(model).eval()
    if moa and hasattr(fused, "moa"):
        fuse_moa(fused)
    if context and hasattr(fused, "use_context"):
        fold_context(fused)
    if (normalization or frame_input) and can_fold_input(fused):
        pre = fused.cfg.preprocess
        fold_input_transform(fused.encoder, scale=pre.scale if frame_input else 1.0,
                             bgr=frame_input)
    for p in fused.parameters():
        p.requires_grad_(False)
    return fused


class FrameInput(nn.Module):
    """frame [N, H, W, 3] uint8 BGR, any H, W -> depth [N, 1, H, W] metres.

    Resizes to the model's input size in the graph (bilinear, half-pixel centres, as
    cv2.INTER_LINEAR); colour order and scale are in the wrapped model's patch conv when it
    was fused with `frame_input=True`, otherwise applied here. Depth is upsampled from the
    token grid straight to the frame's size.
    """

    def __init__(self, model: nn.Module, folded: bool) -> None:
        super().__init__()
        pre = model.cfg.preprocess
        if pre.resize != "bilinear":
            raise UserError(f"--embed-preprocess supports bilinear resizing only, "
                            f"the model's preprocess.resize is {pre.resize!r}")
        self.model = model
        self.size = tuple(pre.size)
        self.scale = pre.scale
        self.folded = folded

    def forward(self, frame: torch.Tensor) -> torch.Tensor:
        x = frame.permute(0, 3, 1, 2).float()
        x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False)
        if not self.folded:
            x = x.flip(1) * self.scale
        grid = self.model.forward_grid(x)  # token grid: one upsampling, straight to frame size
        return F.interpolate(grid, size=frame.shape[1:3], mode="bilinear", align_corners=False)
