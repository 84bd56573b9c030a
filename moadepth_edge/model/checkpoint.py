"""Checkpoint folders: `model.safetensors` + `config.json`; the model is rebuilt from them alone."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from .. import __version__
from .._lazy import lazy_import
from ..config import InvalidConfig, ModelCfg, from_dict, to_dict
from ..errors import CheckpointError, WriteFailed
from ..outputs import staged_dir

WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def save_tensors(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None) -> None:
    """safetensors' save_file with its I/O errors (a full disk is a SafetensorError, not an
    OSError) as WriteFailed naming the file."""
    try:
        lazy_import("safetensors.torch").save_file(tensors, str(path), metadata=metadata)
    except Exception as exc:
        if type(exc).__name__ != "SafetensorError":
            raise
        reason = str(exc)
        for known in ("No space left on device", "Disk quota exceeded", "File too large", "Read-only file system"):
            reason = known if known in reason else reason
        raise WriteFailed(path, reason) from None


def save_checkpoint(model: nn.Module, folder: str | Path, extra: dict[str, Any] | None = None,
                    add_files: Callable[[Path], None] | None = None) -> Path:
    """Write `model` to `folder` atomically (a crash leaves the previous checkpoint intact).

    add_files(tmp_folder) may write more files (a trainer's state) before the folder moves
    into place, so they land in the same atomic swap."""
    folder = Path(folder)
    cfg: ModelCfg = model.cfg  # type: ignore[assignment]
    meta = {
        "model_cfg": to_dict(cfg),
        "bins": {"centers": model.bin_centers.tolist()} if hasattr(model, "bin_centers") else None,
        "package_version": __version__,
        "extra": extra or {},
    }
    with staged_dir(folder) as tmp:  # disk full, folder gone: the previous checkpoint stays
        state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
        save_tensors(state, tmp / WEIGHTS, metadata={"format": "pt"})
        (tmp / CONFIG).write_text(json.dumps(meta, indent=2))
        if add_files is not None:
            add_files(tmp)
    return folder


def read_checkpoint_meta(folder: str | Path) -> dict[str, Any]:
    """The parsed config.json of a checkpoint folder (CheckpointError if missing or garbled)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint folder not found: {folder}")
    path = folder / CONFIG
    if not path.is_file():
        raise CheckpointError(f"{folder} is not a checkpoint: no {CONFIG}")
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"corrupt checkpoint config {path}: {exc}") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"corrupt checkpoint config {path}: expected a JSON object, got {type(meta).__name__}")
    return meta


def read_checkpoint_config(folder: str | Path) -> ModelCfg:
    """The ModelCfg saved in a checkpoint folder, every field type- and range-checked
    (InvalidConfig, a ConfigError, names the file and the field)."""
    meta = read_checkpoint_meta(folder)
    source = str(Path(folder) / CONFIG)
    if "model_cfg" not in meta:
        raise CheckpointError(f"invalid checkpoint config {source}: no model_cfg")
    return from_dict(ModelCfg, meta["model_cfg"], source=source, path="model_cfg")


def check_tower(cfg: ModelCfg, source: str) -> None:
    """The config's block indices fit its CLIP tower (MoA after blocks 0..depth-1, at most
    depth trainable blocks); InvalidConfig naming `source` and the field otherwise."""
    from .clip_encoder import tower_depth

    try:
        depth = tower_depth(cfg.clip.model_name)
    except CheckpointError as exc:
        raise InvalidConfig("model_cfg.clip.model_name", str(exc), source) from None
    if cfg.kind != "moa":
        return
    if depth is None:
        raise InvalidConfig("model_cfg.clip.model_name", f"MoA-DepthCLIP needs a ViT tower, "
                            f"{cfg.clip.model_name} is a ResNet", source)
    bad = [i for i in cfg.moa.layers if i >= depth]
    if bad:
        raise InvalidConfig("model_cfg.moa.layers", f"blocks {bad} do not exist in the {depth}-block "
                            f"{cfg.clip.model_name} tower (0..{depth - 1})", source)
    if cfg.trainable_blocks > depth:
        raise InvalidConfig("model_cfg.trainable_blocks", f"{cfg.trainable_blocks} is more than the "
                            f"{depth} blocks of {cfg.clip.model_name}", source)


def load_checkpoint(folder: str | Path) -> nn.Module:
    """Rebuild the model from a checkpoint folder alone (no CLIP download), in eval mode."""
    from .factory import build_model

    folder = Path(folder)
    cfg = read_checkpoint_config(folder)
    check_tower(cfg, str(folder / CONFIG))
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise CheckpointError(f"{folder} is not a checkpoint: no {WEIGHTS}")
    safetensors_torch = lazy_import("safetensors.torch")
    try:
        state = safetensors_torch.load_file(str(weights))
    except Exception as exc:  # SafetensorError, OSError: a garbled or truncated file
        raise CheckpointError(f"corrupt checkpoint weights {weights}: {exc}") from None
    model = build_model(cfg, pretrained=False)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise CheckpointError(f"weights in {weights} do not match its config: {first}") from None
    return model.eval()


def checkpoint_sha256(folder: str | Path) -> str:
    """sha256 over the weights and config files: identifies the source of an export."""
    h = hashlib.sha256()
    for name in (WEIGHTS, CONFIG):
        with open(Path(folder) / name, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()
