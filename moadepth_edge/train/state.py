"""Resumable run checkpoints: a model checkpoint folder (save_checkpoint's format, so every
downstream tool reads it) plus the trainer's state, swapped into place as one folder so a crash
never leaves half of one.

The trainer state is data only, never a pickle: its tensors (optimizer moments, RNG states) go
to `trainer_state.safetensors`, everything else (step, best score, scheduler and AMP scaler
settings, sampler position) to `trainer_state.json`, where each tensor is a
`{"__tensor__": key}` reference. Reading it can therefore not run code. Older versions wrote
`trainer_state.pt` (a pickle): it is refused, never opened.
"""
from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._lazy import lazy_import
from ..config import InvalidConfig, from_dict
from ..config_types import at_least, require
from ..errors import CheckpointError
from ..model.checkpoint import save_checkpoint, save_tensors
from ..outputs import previous_copy

STATE_JSON = "trainer_state.json"
STATE_TENSORS = "trainer_state.safetensors"
OLD_STATE = "trainer_state.pt"  # the pickle format of earlier versions: refused, never loaded
FORMAT = 1
_MARKERS = ("__tensor__", "__tuple__", "__items__")


@dataclass
class TrainerState:
    """Everything besides the weights that an exact resume needs."""

    step: int
    steps_per_epoch: int
    world_size: int
    best: float | None
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    scaler: dict[str, Any]
    rng: dict[str, Any]
    sampler: dict[str, int] = field(default_factory=dict)  # {"epoch", "batches_done"} of `step`
    format: int = FORMAT

    def validate(self) -> None:
        require(self.format == FORMAT, "format", f"is {self.format}, this version reads {FORMAT}")
        at_least(self, "step", 0)
        at_least(self, "steps_per_epoch", 1)
        at_least(self, "world_size", 1)
        epoch, done = divmod(self.step, self.steps_per_epoch)
        require(self.sampler == {"epoch": epoch, "batches_done": done}, "sampler",
                f"does not match step {self.step} at {self.steps_per_epoch} steps per epoch")


# ------------------------------------------------------------------------------------------
# RNG states as tensors and plain numbers


def rng_state() -> dict[str, Any]:
    """Python, numpy, torch CPU (and CUDA) generator states, as tensors and numbers."""
    version, words, gauss = random.getstate()
    algo, key, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": {"version": version, "words": torch.tensor(words, dtype=torch.int64), "gauss": gauss},
        "numpy": {"algorithm": algo, "key": torch.from_numpy(key.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    py, npy = state["python"], state["numpy"]
    random.setstate((py["version"], tuple(int(w) for w in py["words"].tolist()), py["gauss"]))
    key = npy["key"].numpy().astype(np.uint32)
    np.random.set_state((npy["algorithm"], key, npy["pos"], npy["has_gauss"], npy["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(state["cuda"]))


def restore_state(state: TrainerState, folder: Path, optimizer: torch.optim.Optimizer,
                  scheduler: Any, scaler: Any) -> None:
    """Load optimizer, scheduler, AMP scaler and RNG states; CheckpointError (one line) when
    the saved state does not fit them."""
    try:
        fresh = [dict(group) for group in optimizer.param_groups]
        optimizer.load_state_dict(state.optimizer)
        check_optimizer_state(optimizer)
        check_param_groups(fresh, optimizer.param_groups)
        scheduler.load_state_dict(state.scheduler)
        scaler.load_state_dict(state.scaler)
        set_rng_state(state.rng)
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f"the trainer state in {folder} does not fit this run: {first}") from None


def check_optimizer_state(optimizer: torch.optim.Optimizer) -> None:
    """After load_state_dict: every per-parameter state entry is a tensor shaped like its
    parameter (a scalar for "step"), so a foreign state fails here, not mid-step."""
    for param, entries in optimizer.state.items():
        for name, value in entries.items():
            if not isinstance(value, torch.Tensor):
                raise ValueError(f"optimizer state {name!r} is a {type(value).__name__}, not a tensor")
            want = () if name == "step" else tuple(param.shape)
            if tuple(value.shape) != want:
                raise ValueError(f"optimizer state {name!r} has shape {list(value.shape)}, "
                                 f"its parameter needs {list(want)}")


def _same_kind(fresh: Any, saved: Any) -> bool:
    if isinstance(fresh, bool) or fresh is None:
        return isinstance(saved, bool) or saved is None
    if isinstance(fresh, (int, float)):
        return isinstance(saved, (int, float)) and not isinstance(saved, bool) and math.isfinite(saved)
    if isinstance(fresh, (tuple, list)):
        return isinstance(saved, (tuple, list)) and len(saved) == len(fresh) \
            and all(_same_kind(f, v) for f, v in zip(fresh, saved))
    return True


def check_param_groups(fresh: list[dict[str, Any]], loaded: list[dict[str, Any]]) -> None:
    """Every hyperparameter the saved state brings (lr, betas, eps...) of the kind this
    optimizer's own has, and finite: an edited `"lr": "x"` fails here, not at the first step."""
    for group_fresh, group in zip(fresh, loaded):
        for key, value in group_fresh.items():
            if key != "params" and key in group and not _same_kind(value, group[key]):
                raise ValueError(f"optimizer param_groups {key!r} is {group[key]!r}, expected the kind of {value!r}")


# ------------------------------------------------------------------------------------------
# nested state dicts <-> (JSON-ready structure, flat tensor dict)


def _encode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, torch.Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = obj.detach().cpu().contiguous()
        return {"__tensor__": key}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, tensors) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and k not in _MARKERS for k in obj):
            return {k: _encode(v, tensors) for k, v in obj.items()}
        return {"__items__": [[_encode(k, tensors), _encode(v, tensors)] for k, v in obj.items()]}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    raise TypeError(f"cannot store a {type(obj).__name__} in the trainer state")


def _decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1 and next(iter(obj)) in _MARKERS:
        (marker, value), = obj.items()
        if marker == "__tensor__":
            if not isinstance(value, str) or value not in tensors:
                raise ValueError(f"refers to a tensor {value!r} that is not in {STATE_TENSORS}")
            return tensors[value]
        if not isinstance(value, list):
            raise ValueError(f"{marker} must hold a list")
        if marker == "__tuple__":
            return tuple(_decode(v, tensors) for v in value)
        items = [_decode(pair, tensors) for pair in value]
        if not all(isinstance(p, list) and len(p) == 2 and not isinstance(p[0], (list, dict, torch.Tensor))
                   for p in items):
            raise ValueError("__items__ must hold [key, value] pairs")
        return {k: v for k, v in items}
    return {k: _decode(v, tensors) for k, v in obj.items()}


# ------------------------------------------------------------------------------------------


def save_run_checkpoint(model: nn.Module, folder: Path, extra: dict[str, Any],
                        trainer_state: TrainerState | None) -> Path:
    """Write `folder` (model + config + optional trainer state) atomically, in one swap."""
    def add_state(tmp: Path) -> None:
        tensors: dict[str, torch.Tensor] = {}
        data = _encode({k: getattr(trainer_state, k) for k in trainer_state.__dataclass_fields__}, tensors)
        save_tensors(tensors, tmp / STATE_TENSORS)
        (tmp / STATE_JSON).write_text(json.dumps(data, indent=1) + "\n")

    return save_checkpoint(model, folder, extra=extra,
                           add_files=None if trainer_state is None else add_state)


def _refuse_old_format(path: Path) -> None:
    raise CheckpointError(
        f"{path / OLD_STATE} is a trainer state in the old pickle format and is never loaded "
        "(unpickling a file can run code); start a new run in another --out")


def find_run_checkpoint(folder: Path) -> Path | None:
    """`folder`, or the previous copy when a crash hit between the two renames; None when
    neither holds a trainer state. An old pickle-format state is refused (CheckpointError)."""
    for path in (folder, previous_copy(folder)):
        if (path / STATE_JSON).is_file():
            return path
    for path in (folder, previous_copy(folder)):
        if (path / OLD_STATE).exists():
            _refuse_old_format(path)
    return None


def load_trainer_state(folder: Path) -> TrainerState:
    """The trainer state in a run checkpoint folder; CheckpointError (one line) if it is
    missing, garbled, of the old pickle format or of the wrong shape."""
    folder = Path(folder)
    if not (folder / STATE_JSON).is_file():
        if (folder / OLD_STATE).exists():
            _refuse_old_format(folder)
        raise CheckpointError(f"{folder} holds no trainer state ({STATE_JSON})")
    path = folder / STATE_JSON
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(f"corrupt trainer state {path}: {exc}") from None
    try:
        tensors = lazy_import("safetensors.torch").load_file(str(folder / STATE_TENSORS))
    except Exception as exc:  # SafetensorError, OSError: missing, garbled, truncated or foreign
        raise CheckpointError(f"corrupt trainer state {folder / STATE_TENSORS}: {exc}") from None
    try:
        return from_dict(TrainerState, _decode(data, tensors), source=str(path))
    except InvalidConfig:
        raise
    except ValueError as exc:
        raise CheckpointError(f"corrupt trainer state {path}: {exc}") from None
