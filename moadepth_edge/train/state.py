"""Resumable run checkpoints: a model checkpoint folder (save_checkpoint's format, so every
downstream tool reads it) plus `trainer_state.pt` (optimizer, scheduler, AMP scaler, step,
epoch, RNG states), swapped into place as one folder so a crash never leaves half of one."""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import CheckpointError
from ..model.checkpoint import previous_copy, save_checkpoint

TRAINER_STATE = "trainer_state.pt"


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_run_checkpoint(model: nn.Module, folder: Path, extra: dict[str, Any],
                        trainer_state: dict[str, Any] | None) -> Path:
    """Write `folder` (model + config + optional trainer state) atomically, in one swap."""
    def add_state(tmp: Path) -> None:
        torch.save(trainer_state, tmp / TRAINER_STATE)

    return save_checkpoint(model, folder, extra=extra,
                           add_files=None if trainer_state is None else add_state)


def find_run_checkpoint(folder: Path) -> Path | None:
    """`folder`, or the previous copy when a crash hit between the two renames."""
    for path in (folder, previous_copy(folder)):
        if (path / TRAINER_STATE).is_file():
            return path
    return None


def load_trainer_state(folder: Path) -> dict[str, Any]:
    try:
        return torch.load(folder / TRAINER_STATE, map_location="cpu", weights_only=False)
    except Exception as exc:  # a truncated or foreign file
        raise CheckpointError(f"cannot read {folder / TRAINER_STATE}: {exc}") from None
