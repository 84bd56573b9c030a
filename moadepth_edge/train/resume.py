"""Reading a run back for `--resume`, and refusing what would change it.

A resumed run is the saved run: model, optimisation and data settings all come from its last
checkpoint. Options given again must agree with it; only `--epochs` may extend it (never to
fewer steps than are done), and the "how to run" options (--device, --workers, --progress) may
differ.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..config import ModelCfg, TrainCfg, from_dict
from ..errors import CheckpointError, UserError
from ..model.checkpoint import CONFIG, read_checkpoint_meta
from .run_spec import RunSpec
from .state import TrainerState, find_run_checkpoint, load_trainer_state

# CLI option -> (saved config, field) it sets; the ones left out may differ on resume
SAVED_FIELDS: dict[str, tuple[str, str]] = {
    "preset": ("model", "name"), "clip": ("model", "clip.pretrained"),
    **{k: ("train", k) for k in ("lr", "batch_size", "weight_decay", "schedule", "warmup_steps",
                                 "grad_clip", "amp", "eval_every", "seed", "canonical_focal")},
    **{k: ("run", k) for k in ("data", "eval_data", "eval_limit", "data_root", "eval_data_root",
                               "depth_scale", "synthetic_size", "train_all", "augment", "augment_input", "cache",
                               "save_every")},
}
FREE_ON_RESUME = ("epochs", "device", "workers", "progress")


@dataclass(frozen=True)
class SavedRun:
    """A run's last checkpoint: where it is and what it says."""

    folder: Path
    model: ModelCfg
    train: TrainCfg
    run: RunSpec
    state: TrainerState


def load_run(out: str | Path) -> SavedRun:
    """The run in `out` (its last/ checkpoint, or the previous copy after a crash mid-swap),
    every saved config and the trainer state checked; CheckpointError / ConfigError otherwise."""
    out = Path(out)
    folder = find_run_checkpoint(out / "last")
    if folder is None:
        raise CheckpointError(f"nothing to resume: no checkpoint with trainer state in {out / 'last'}")
    meta = read_checkpoint_meta(folder)
    source = str(folder / CONFIG)
    extra = meta.get("extra") if isinstance(meta, dict) else None
    if not isinstance(extra, dict) or "train_cfg" not in extra or "run" not in extra or "model_cfg" not in meta:
        raise CheckpointError(f"{source} was not written by the trainer (no model_cfg, extra.train_cfg, extra.run)")
    model = from_dict(ModelCfg, meta["model_cfg"], source=source, path="model_cfg")
    train = from_dict(TrainCfg, extra["train_cfg"], source=source, path="extra.train_cfg")
    run_data = {**extra["run"], "out": str(out)} if isinstance(extra["run"], dict) else extra["run"]
    run = from_dict(RunSpec, run_data, source=source, path="extra.run")
    return SavedRun(folder, model, train, run, load_trainer_state(folder))


def extended(saved: SavedRun, epochs: int | None) -> TrainCfg:
    """The saved TrainCfg, with `epochs` if given; refused when it ends before the saved step."""
    if epochs is None:
        return saved.train
    done = saved.state.step
    if epochs * saved.state.steps_per_epoch < done:
        need = math.ceil(done / saved.state.steps_per_epoch)
        raise UserError(f"--epochs {epochs} ends before step {done}, which the run in {saved.run.out} "
                        f"has already done ({done / saved.state.steps_per_epoch:g} epoch(s)); "
                        f"pass --epochs {need} or more")
    return replace(saved.train, epochs=epochs)


def _get(cfg: Any, dotted: str) -> Any:
    for name in dotted.split("."):
        cfg = getattr(cfg, name)
    return cfg


def _show(flag: str, value: Any) -> str:
    if isinstance(value, bool):
        return f"--{flag}" if value else f"--no-{flag}"
    if value is None:
        return f"--{flag} none"
    if isinstance(value, tuple):
        return f"--{flag} {'x'.join(str(v) for v in value)}"
    return f"--{flag} {value}"


def conflicts(given: list[str], new: dict[str, Any], saved: SavedRun) -> list[str]:
    """The options in `given` (CLI parameter names) whose value, as set in the configs `new`
    ({"model": ModelCfg, "train": TrainCfg, "run": RunSpec} built from the command line),
    differs from the saved run's, as "--lr 0.01 (the run has --lr 0.001)"."""
    old = {"model": saved.model, "train": saved.train, "run": saved.run}
    found = []
    for name in given:
        if name not in SAVED_FIELDS:
            continue
        cfg, dotted = SAVED_FIELDS[name]
        mine, theirs = _get(new[cfg], dotted), _get(old[cfg], dotted)
        if mine != theirs:
            flag = name.replace("_", "-")
            found.append(f"{_show(flag, mine)} (the run has {_show(flag, theirs)})")
    return found


def refuse_conflicts(given: list[str], new: dict[str, Any], saved: SavedRun) -> None:
    """UserError listing every option that would change the saved run."""
    found = conflicts(given, new, saved)
    if found:
        free = ", ".join(f"--{n}" for n in FREE_ON_RESUME)
        raise UserError(f"--resume continues {saved.run.out} as saved, but these options differ from it: "
                        f"{'; '.join(found)}. Drop them (only {free} may change), or start a new run "
                        "in another --out")
