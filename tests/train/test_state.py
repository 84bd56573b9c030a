"""The trainer state on disk: tensors in safetensors, the rest in JSON, never a pickle. It
round-trips exactly (optimizer, every scheduler, AMP scaler, RNG streams) and anything damaged
or foreign is one CheckpointError / ConfigError line."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from moadepth_edge.config import TrainCfg, get_preset
from moadepth_edge.errors import CheckpointError, ConfigError
from moadepth_edge.model import build_model
from moadepth_edge.train.optim import build_optimizer, build_scheduler
from moadepth_edge.train.state import (
    OLD_STATE, STATE_JSON, STATE_TENSORS, TrainerState, find_run_checkpoint, load_trainer_state,
    restore_state, rng_state, save_run_checkpoint,
)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(get_preset("moadepth-tiny"))


def _stepped(model, schedule: str, steps: int = 3):
    cfg = TrainCfg(lr=1e-3, schedule=schedule, warmup_steps=2)
    opt = build_optimizer(model, cfg)
    sched = build_scheduler(opt, cfg, total_steps=10)
    for _ in range(steps):
        opt.zero_grad()
        model(torch.rand(1, 3, 64, 64)).mean().backward()
        opt.step()
        sched.step()
    return opt, sched


def _state(opt, sched, step=3) -> TrainerState:
    scaler = torch.amp.GradScaler("cpu", enabled=True)
    return TrainerState(step=step, steps_per_epoch=2, world_size=1, best=0.25,
                        optimizer=opt.state_dict(), scheduler=sched.state_dict(), scaler=scaler.state_dict(),
                        rng=rng_state(), sampler={"epoch": step // 2, "batches_done": step % 2})


def _same(a, b) -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    else:
        assert a == b and type(a) is type(b)


@pytest.mark.parametrize("schedule", ["constant", "cosine", "onecycle"])
def test_state_round_trips_exactly(model, tmp_path, schedule):
    opt, sched = _stepped(model, schedule)
    state = _state(opt, sched)
    want = (random.random(), np.random.rand(), torch.rand(3))  # what the saved RNG streams give next
    folder = save_run_checkpoint(model, tmp_path / "last", {"note": 1}, state)
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors", STATE_JSON, STATE_TENSORS]
    loaded = load_trainer_state(folder)
    for name in ("step", "steps_per_epoch", "world_size", "best", "optimizer", "scheduler", "scaler", "sampler"):
        _same(getattr(state, name), getattr(loaded, name))

    # restoring puts the optimizer, scheduler and every RNG stream back where they were
    opt2, sched2 = _stepped(model, schedule, steps=1)
    restore_state(loaded, folder, opt2, sched2, torch.amp.GradScaler("cpu", enabled=True))
    _same(opt2.state_dict(), opt.state_dict())
    _same(sched2.state_dict(), sched.state_dict())
    got = (random.random(), np.random.rand(), torch.rand(3))
    assert got[:2] == want[:2] and torch.equal(got[2], want[2])


def test_old_pickle_state_is_refused_unopened(model, tmp_path):
    folder = tmp_path / "last"
    save_run_checkpoint(model, folder, {}, None)
    torch.save({"step": 1}, folder / OLD_STATE)  # what earlier versions wrote
    with pytest.raises(CheckpointError, match="old pickle format and is never loaded") as info:
        find_run_checkpoint(folder)
    assert "\n" not in str(info.value)
    with pytest.raises(CheckpointError, match="old pickle format"):
        load_trainer_state(folder)


def test_crash_between_renames_finds_the_previous_copy(model, tmp_path):
    opt, sched = _stepped(model, "constant", steps=1)
    save_run_checkpoint(model, tmp_path / "last", {}, _state(opt, sched))
    (tmp_path / "last").rename(tmp_path / ".last.old")
    assert find_run_checkpoint(tmp_path / "last") == tmp_path / ".last.old"
    assert find_run_checkpoint(tmp_path / "elsewhere") is None


@pytest.fixture()
def saved(model, tmp_path):
    opt, sched = _stepped(model, "constant", steps=1)
    return save_run_checkpoint(model, tmp_path / "last", {}, _state(opt, sched))


def _edit_json(folder, change) -> None:
    data = json.loads((folder / STATE_JSON).read_text())
    change(data)
    (folder / STATE_JSON).write_text(json.dumps(data))


@pytest.mark.parametrize("damage,match", [
    (lambda f: (f / STATE_JSON).write_text("{not json"), "corrupt trainer state"),
    (lambda f: (f / STATE_JSON).write_bytes(b"\xff\xfe\x00garbage"), "corrupt trainer state"),
    (lambda f: (f / STATE_JSON).write_text("[1, 2, 3]"), "expected an object"),
    (lambda f: (f / STATE_TENSORS).write_bytes(b""), "corrupt trainer state"),
    (lambda f: (f / STATE_TENSORS).write_bytes((f / STATE_TENSORS).read_bytes()[:1000]), "corrupt trainer state"),
    (lambda f: (f / STATE_TENSORS).write_bytes(np.random.default_rng(0).bytes(4096)), "corrupt trainer state"),
    (lambda f: (f / STATE_TENSORS).unlink(), "corrupt trainer state"),
    (lambda f: _edit_json(f, lambda d: d.update(step="ten")), "step: expected an integer"),
    (lambda f: _edit_json(f, lambda d: d.update(step=-4)), "step: must be >= 0"),
    (lambda f: _edit_json(f, lambda d: d.update(steps_per_epoch=0)), "steps_per_epoch: must be >= 1"),
    (lambda f: _edit_json(f, lambda d: d.update(format=7)), "format: is 7"),
    (lambda f: _edit_json(f, lambda d: d.update(step=5)), "sampler: does not match step 5"),
    (lambda f: _edit_json(f, lambda d: d.pop("optimizer")), "missing TrainerState field"),
    (lambda f: _edit_json(f, lambda d: d["rng"].update(torch={"__tensor__": "nope"})), "refers to a tensor 'nope'"),
    (lambda f: _edit_json(f, lambda d: d.update(best={"__items__": 3})), "__items__ must hold a list"),
])
def test_damaged_state_is_one_line(saved, damage, match):
    damage(saved)
    with pytest.raises((CheckpointError, ConfigError), match=match) as info:
        load_trainer_state(saved)
    assert "\n" not in str(info.value)


def test_state_that_does_not_fit_the_model_is_refused(model, saved):
    state = load_trainer_state(saved)
    exp = state.optimizer["state"][0]["exp_avg"]
    state.optimizer["state"][0]["exp_avg"] = torch.zeros(exp.numel() + 1)
    opt, sched = _stepped(model, "constant", steps=0)
    with pytest.raises(CheckpointError, match="does not fit this run: optimizer state 'exp_avg' has shape"):
        restore_state(state, saved, opt, sched, torch.amp.GradScaler("cpu", enabled=False))
    state = load_trainer_state(saved)
    state.rng["torch"] = torch.zeros(3, dtype=torch.uint8)
    with pytest.raises(CheckpointError, match="does not fit this run"):
        restore_state(state, saved, opt, sched, torch.amp.GradScaler("cpu", enabled=False))
