"""OpenCLIP towers: creation (pretrained tag, local file or random), and dense visual tokens.

`ClipViTEncoder` wraps open_clip's VisionTransformer: in-model CLIP normalisation of a [0, 1]
image, positional-embedding interpolation for other input sizes, per-block iteration (so the
MoA can sit between blocks) and timm-style `forward_intermediates`.
"""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from .._lazy import lazy_import
from ..config import ModelCfg
from ..errors import CheckpointError

_CONFIG_DIR = Path(__file__).with_name("configs")
_registered = False


def register_test_configs() -> None:
    """Register the tiny towers shipped in model/configs with open_clip (idempotent)."""
    global _registered
    if not _registered:
        lazy_import("open_clip").add_model_config(_CONFIG_DIR)
        _registered = True


@contextlib.contextmanager
def _quiet_root_logger():
    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def tower_depth(model_name: str) -> int | None:
    """Transformer blocks in the visual tower of open_clip architecture `model_name` (None for
    a ResNet tower); CheckpointError for an unknown architecture."""
    open_clip = lazy_import("open_clip")
    register_test_configs()
    model_cfg = open_clip.get_model_config(model_name)
    if model_cfg is None:
        raise CheckpointError(f"unknown CLIP architecture {model_name!r}")
    layers = model_cfg.get("vision_cfg", {}).get("layers")
    return layers if isinstance(layers, int) else None


def check_clip_weights(model_name: str, weights: str) -> None:
    """`weights` must be an open_clip pretrained tag of `model_name` (open_clip downloads and
    loads it) or a local `.safetensors` file. A local pickle (.pt/.pth/.bin...) is refused
    before it is opened: open_clip would torch.load it, and unpickling a file can run code.
    CheckpointError (one line) otherwise."""
    open_clip = lazy_import("open_clip")
    register_test_configs()
    if open_clip.get_pretrained_cfg(model_name, weights):
        return
    path = Path(weights).expanduser()
    if not path.exists():
        tags = ", ".join(open_clip.list_pretrained_tags_by_model(model_name)) or "none"
        raise CheckpointError(f"--clip {weights}: neither a pretrained tag of {model_name} "
                              f"(known: {tags}) nor an existing weights file")
    if not path.is_file():
        raise CheckpointError(f"--clip {weights}: is not a file; pass the .safetensors weights file")
    with path.open("rb") as f:
        head = f.read(8)
    pickle = head[:1] == b"\x80" or head[:2] == b"PK"  # a pickle, or torch.save's zip of one
    if pickle or path.suffix != ".safetensors":
        what = "a PyTorch pickle" if pickle else f"a {path.suffix or 'suffix-less'} file"
        raise CheckpointError(
            f"--clip {weights}: only .safetensors weights files are loaded, and this is {what}; "
            "unpickling a file can run code (convert it with safetensors.torch.save_file where you trust it)")
    try:
        with lazy_import("safetensors").safe_open(str(path), framework="pt") as st:
            st.keys()
    except Exception as exc:  # SafetensorError: garbled, truncated or foreign bytes
        raise CheckpointError(f"--clip {weights}: not a valid safetensors file ({exc})") from None


def create_clip(cfg: ModelCfg, pretrained: bool) -> tuple[nn.Module, Any]:
    """(open_clip CLIP model, tokenizer). pretrained=False gives random init (no download).
    A local weights file must be .safetensors (see check_clip_weights)."""
    open_clip = lazy_import("open_clip")
    register_test_configs()
    weights = cfg.clip.pretrained if pretrained else None
    if weights:
        check_clip_weights(cfg.clip.model_name, weights)
    h, w = cfg.preprocess.size
    quiet = contextlib.nullcontext() if weights else _quiet_root_logger()
    try:
        with quiet:  # open_clip warns "initialized randomly" on purpose-built random towers
            model = open_clip.create_model(
            cfg.clip.model_name,
                pretrained=weights,
                force_quick_gelu=cfg.clip.quick_gelu,
                force_image_size=h if h == w else (h, w),  # ResNets take an int
            )
    except RuntimeError as exc:  # a failed download, or a state-dict mismatch from a local file
        first = str(exc).strip().splitlines()[0]
        if "download" in first.lower():
            raise CheckpointError(
                f"cannot download CLIP weights {weights!r} for {cfg.clip.model_name} (offline?): "
                "pass a local weights file with --clip PATH, or --clip none for random init") from None
        raise CheckpointError(
            f"CLIP weights {weights!r} do not match {cfg.clip.model_name}: {first}") from None
    except (FileNotFoundError, OSError) as exc:
        raise CheckpointError(f"cannot load CLIP weights {weights!r}: {exc}") from None
    if not weights and getattr(model.visual, "positional_embedding", None) is not None:
        with torch.no_grad():  # a tower trained from scratch: see sincos_positions
            pos = model.visual.positional_embedding
            pos.copy_(sincos_positions(tuple(model.visual.grid_size), pos.shape[1]).to(pos.dtype))
    model.eval()
    return model, open_clip.get_tokenizer(cfg.clip.model_name)


def sincos_positions(grid: tuple[int, int], dim: int) -> torch.Tensor:
    """2-D sine-cosine positional embedding [1 + h*w, dim] (the class token's row zero), as
    MAE initialises ViTs trained from scratch, in place of open_clip's random draw (std
    width**-0.5), which the tiny presets then keep frozen."""
    h, w = grid
    quarter = dim // 4
    omega = 1.0 / 10000 ** (torch.arange(quarter, dtype=torch.float64) / max(quarter, 1))
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    parts = []
    for coord in (ys.flatten(), xs.flatten()):
        angle = coord[:, None] * omega[None]
        parts += [angle.sin(), angle.cos()]
    table = torch.cat(parts, dim=1)
    out = torch.zeros(1 + h * w, dim, dtype=torch.float64)
    out[1:, :table.shape[1]] = table
    return out.float()


@torch.no_grad()
def encode_prompts(clip: nn.Module, tokenizer: Callable, prompts: list[str]) -> torch.Tensor:
    """L2-normalised text embeddings [P, C] of the prompts through the frozen text tower."""
    tokens = tokenizer(prompts)
    return F.normalize(clip.encode_text(tokens).float(), dim=-1)


class ClipViTEncoder(nn.Module):
    """Dense tokens of an open_clip VisionTransformer for an RGB image in [0, 1]."""

    def __init__(self, visual: nn.Module, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.visual = visual
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.normalize = True  # False once the export folds mean/std into the patch embedding
        self.patch = visual.conv1.kernel_size[0]
        self.width = visual.conv1.out_channels
        self.out_dim = visual.proj.shape[1] if visual.proj is not None else self.width

    @property
    def blocks(self) -> nn.ModuleList:
        return self.visual.transformer.resblocks

    def grid_size(self, height: int, width: int) -> tuple[int, int]:
        return height // self.patch, width // self.patch

    def pos_embed(self, grid: tuple[int, int]) -> torch.Tensor:
        """Positional embedding [1 + h*w, D], bicubically interpolated when the grid differs."""
        pos = self.visual.positional_embedding
        native = self.visual.grid_size
        if tuple(grid) == tuple(native):
            return pos
        patch_pos = pos[1:].reshape(1, native[0], native[1], -1).permute(0, 3, 1, 2)
        patch_pos = F.interpolate(patch_pos, size=grid, mode="bicubic", align_corners=False)
        return torch.cat([pos[:1], patch_pos.flatten(2).transpose(1, 2)[0]], dim=0)

    def embed(self, image: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """Tokens [B, 1 + h*w, D] before the first block, and the token grid (h, w)."""
        x = (image - self.mean) / self.std if self.normalize else image
        x = self.visual.conv1(x)
        grid = (x.shape[-2], x.shape[-1])
        x = x.flatten(2).transpose(1, 2)
        cls = self.visual.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embed(grid).to(x.dtype)
        return self.visual.ln_pre(x), grid

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """Patch tokens (class token dropped) through ln_post and the CLIP projection: [B, h*w, C]."""
        x = self.visual.ln_post(x[:, 1:])
        return x @ self.visual.proj if self.visual.proj is not None else x

    def forward_intermediates(
        self, image: torch.Tensor, indices: list[int] | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(projected patch tokens, residual-stream tokens after each block in `indices`)."""
        x, _ = self.embed(image)
        keep = set(range(len(self.blocks)) if indices is None else indices)
        inter = []
        for i, blk in enumerate(self.blocks):
            x = blk(x)
            if i in keep:
                inter.append(x)
        return self.project(x), inter

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.forward_intermediates(image, indices=[])[0]


class ClipResNetEncoder(nn.Module):
    """Dense features of an open_clip ModifiedResNet (value path of the attention pool,
    as DepthCLIP / MaskCLIP do) for an RGB image in [0, 1]: [B, h*w, C]."""

    def __init__(self, visual: nn.Module, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.visual = visual
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.out_dim = visual.attnpool.c_proj.out_features

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        v = self.visual
        x = v.stem((image - self.mean) / self.std)
        x = v.layer4(v.layer3(v.layer2(v.layer1(x))))
        h, w = x.shape[-2:]
        pos = v.attnpool.positional_embedding[1:]
        n = int(round(pos.shape[0] ** 0.5))
        if (h, w) != (n, n):
            pos = pos.reshape(1, n, n, -1).permute(0, 3, 1, 2)
            pos = F.interpolate(pos, size=(h, w), mode="bicubic", align_corners=False)
            pos = pos.flatten(2).transpose(1, 2)[0]
        x = x.flatten(2).transpose(1, 2) + pos.to(x.dtype)
        return v.attnpool.c_proj(v.attnpool.v_proj(x))

    def grid_size(self, height: int, width: int) -> tuple[int, int]:
        return height // 32, width // 32
