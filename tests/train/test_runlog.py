"""Run logs: every write checked (WriteFailed names the file), CSVs replaced atomically, a
resumed run's logs trimmed to its checkpoint and a torn last line tolerated."""
from __future__ import annotations

import json

import pytest

from moadepth_edge.errors import CheckpointError, WriteFailed
from moadepth_edge.train.runlog import RunLog


def _log(folder, steps):
    log = RunLog(folder, tensorboard=False)
    for s in steps:
        log.log("train", s, 1, {"total": float(s)})
    log.log("eval", steps[-1], 1, {"delta1": 0.5})
    return log


def test_resume_trims_and_tolerates_a_torn_line(tmp_path):
    _log(tmp_path, [1, 2, 3, 4])
    with (tmp_path / "metrics.jsonl").open("a") as f:
        f.write('{"kind": "train", "st')  # a crash mid-append
    log = RunLog(tmp_path, resume_step=2, tensorboard=False)
    assert [r["step"] for r in log.records] == [1, 2]
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines] == [1, 2]
    assert (tmp_path / "train.csv").read_text().splitlines()[0] == "step,epoch,total"
    assert not (tmp_path / "eval.csv").exists()  # its only record was after step 2
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files


def test_garbage_in_the_middle_is_refused(tmp_path):
    _log(tmp_path, [1, 2])
    text = (tmp_path / "metrics.jsonl").read_text().splitlines()
    (tmp_path / "metrics.jsonl").write_text("\n".join([text[0], "garbage", text[1]]) + "\n")
    with pytest.raises(CheckpointError, match="metrics.jsonl line 2 is not JSON"):
        RunLog(tmp_path, resume_step=2, tensorboard=False)
    (tmp_path / "metrics.jsonl").write_text('[1, 2]\n{"kind": "eval", "step": 1}\n')
    with pytest.raises(CheckpointError, match="line 1 is not a metrics record"):
        RunLog(tmp_path, resume_step=2, tensorboard=False)


def test_failed_writes_raise_write_failed(tmp_path):
    log = _log(tmp_path, [1])
    (tmp_path / "metrics.jsonl").unlink()
    (tmp_path / "metrics.jsonl").mkdir()  # the append now fails, as on a vanished or full disk
    with pytest.raises(WriteFailed, match="cannot write .*metrics.jsonl"):
        log.log("train", 2, 1, {"total": 2.0})
    (tmp_path / "metrics.jsonl").rmdir()
    (tmp_path / "train.csv").unlink()
    (tmp_path / "train.csv").mkdir()  # the CSV cannot be replaced
    with pytest.raises(WriteFailed, match="cannot write .*train.csv"):
        log.log("train", 3, 1, {"total": 3.0})
