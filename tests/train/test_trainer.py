"""The trainer: checkpoints, logs, and an interrupted run resuming exactly."""
from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from moadepth_edge.config import TrainCfg, get_preset
from moadepth_edge.errors import CheckpointError, UserError
from moadepth_edge.model.checkpoint import load_checkpoint, read_checkpoint_meta
from moadepth_edge.train.trainer import RunSpec, Trainer

CFG = TrainCfg(lr=1e-3, epochs=2, batch_size=4, num_workers=0, seed=3)


def _run(out, **kw) -> RunSpec:
    return RunSpec(out=str(out), data="synthetic:16", synthetic_size=(24, 32), eval_limit=4,
                   progress=False, cache=True, **kw)


def _weights(model) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_run_writes_checkpoints_and_logs(tmp_path):
    tr = Trainer(get_preset("moadepth-tiny"), CFG, _run(tmp_path / "r", log_every=2))
    metrics = tr.fit()
    assert tr.step == 8 and set(metrics) >= {"delta1", "rmse"}
    meta = read_checkpoint_meta(tmp_path / "r" / "last")
    assert meta["extra"]["train_cfg"]["lr"] == 1e-3 and meta["extra"]["step"] == 8
    assert meta["extra"]["run"]["data"] == "synthetic:16"
    assert (tmp_path / "r" / "best" / "model.safetensors").is_file()
    model = load_checkpoint(tmp_path / "r" / "last")
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, tr.model.state_dict()[k])
    records = [json.loads(x) for x in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if r["kind"] == "eval"]
    assert [r["step"] for r in evals] == [0, 4, 8]  # before training, then every epoch
    train = [r for r in records if r["kind"] == "train"]
    assert {"total", "ce", "l1", "silog", "router_entropy", "lr"} <= set(train[0])
    assert (tmp_path / "r" / "train.csv").read_text().startswith("step,epoch,")


def test_interrupted_run_resumes_exactly(tmp_path):
    """Killed after step 7 (mid epoch 2) with step checkpoints every 2: the resumed run
    restarts from step 6 and ends with the very weights of an uninterrupted run."""
    spec = dict(save_every=2, eval_before=False, log_every=1)
    ref = Trainer(get_preset("moadepth-tiny"), CFG, _run(tmp_path / "ref", **spec))
    ref.fit()

    first = Trainer(get_preset("moadepth-tiny"), CFG, _run(tmp_path / "cut", **spec))
    assert first.fit(stop_at_step=7) is None  # no checkpoint at step 7: it is lost, as in a kill
    assert read_checkpoint_meta(tmp_path / "cut" / "last")["extra"]["step"] == 6

    resumed = Trainer.resume(tmp_path / "cut")
    assert resumed.step == 6
    resumed.fit()
    assert resumed.step == 8
    want = _weights(ref.model)
    for k, v in resumed.model.state_dict().items():
        torch.testing.assert_close(v, want[k], rtol=0, atol=0)
    records = [json.loads(x) for x in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    # the lost step 7 was logged before the kill; the log reads as one run, each step once
    assert [r["step"] for r in records if r["kind"] == "train"] == list(range(1, 9))


def test_resume_can_extend_the_run_but_not_shorten_it(tmp_path):
    Trainer(get_preset("moadepth-tiny"), CFG, _run(tmp_path / "r", eval_before=False)).fit()
    with pytest.raises(UserError, match="--epochs 1 ends before step 8.*--epochs 2 or more"):
        Trainer.resume(tmp_path / "r", epochs=1)
    more = Trainer.resume(tmp_path / "r", epochs=3)
    assert more.step == 8 and more.total_steps == 12
    more.fit()
    assert read_checkpoint_meta(tmp_path / "r" / "last")["extra"]["step"] == 12


def test_zero_epochs_checkpoints_the_initial_model(tmp_path):
    tr = Trainer(get_preset("moadepth-tiny"), dataclasses.replace(CFG, epochs=0), _run(tmp_path / "r"))
    before = _weights(tr.model)
    tr.fit()
    assert tr.step == 0 and read_checkpoint_meta(tmp_path / "r" / "last")["extra"]["step"] == 0
    for k, v in load_checkpoint(tmp_path / "r" / "last").state_dict().items():
        assert torch.equal(v, before[k]), k
    assert Trainer.resume(tmp_path / "r", epochs=1).step == 0  # and it continues from there


def test_train_all_unfreezes_the_tower(tmp_path):
    frozen = Trainer(get_preset("moadepth-tiny"), CFG, _run(tmp_path / "a"))
    full = Trainer(get_preset("moadepth-tiny"), CFG, _run(tmp_path / "b", train_all=True))
    n = lambda t: sum(p.numel() for p in t.model.parameters() if p.requires_grad)  # noqa: E731
    assert n(frozen) < n(full) == sum(p.numel() for p in full.model.parameters())


def test_nothing_to_resume(tmp_path):
    with pytest.raises(CheckpointError, match="nothing to resume"):
        Trainer.resume(tmp_path / "none")


def test_zero_shot_models_are_refused(tmp_path):
    with pytest.raises(UserError, match="zero-shot"):
        Trainer(get_preset("depthclip-tiny"), CFG, _run(tmp_path / "z"))
