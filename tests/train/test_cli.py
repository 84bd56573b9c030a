"""`moadepth-edge train` and `moadepth-edge eval` end to end on tiny runs."""
from __future__ import annotations

import json

import pytest

from moadepth_edge.cli.main import main

TINY = ["--preset", "moadepth-tiny", "--data", "synthetic:8", "--synthetic-size", "24x32",
        "--batch-size", "4", "--lr", "1e-3", "--workers", "0", "--eval-limit", "4", "--no-progress"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", *TINY, "--epochs", "1", "--out", str(out)]) == 0
    return out


def test_train_prints_before_after(run_dir, capsys):
    assert (run_dir / "last" / "config.json").is_file()
    assert main(["train", "--resume", "--epochs", "2", "--out", str(run_dir), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "before" in printed and "after" in printed and "δ1" in printed


def test_train_refuses_to_overwrite_a_run(run_dir, capsys):
    assert main(["train", *TINY, "--out", str(run_dir)]) == 2
    assert "--resume" in capsys.readouterr().err


def test_train_unknown_preset(tmp_path, capsys):
    assert main(["train", "--preset", "nope", "--out", str(tmp_path / "x")]) == 2
    assert "unknown preset" in capsys.readouterr().err


def test_eval_synthetic_json(run_dir, tmp_path, capsys):
    out = tmp_path / "m.json"
    assert main(["eval", str(run_dir), "--data", "synthetic:3", "--flip-tta", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["count"] == 3 and result["flip_tta"] and len(result["per_image"]) == 3
    assert 0 <= result["metrics"]["delta1"] <= 1 and result["protocol"]["crop"] == "eigen"
    assert "RMSE" in capsys.readouterr().out


def test_eval_real_nyu_samples_both_protocols(run_dir, shared_data, tmp_path):
    for protocol in ("standard", "paper"):
        out = tmp_path / f"{protocol}.json"
        assert main(["eval", str(run_dir / "last"), "--data", f"nyu:{shared_data / 'nyu_samples'}",
                     "--protocol", protocol, "--json", str(out)]) == 0
        result = json.loads(out.read_text())
        assert result["count"] == 3 and result["protocol"]["median_scaling"] == (protocol == "paper")


def test_eval_errors(run_dir, tmp_path, capsys):
    assert main(["eval", str(tmp_path), "--data", "synthetic:2"]) == 2
    assert "checkpoint" in capsys.readouterr().err
    assert main(["eval", str(run_dir), "--data", "nyu:/no/such/dir"]) == 2
    assert main(["eval", str(run_dir), "--data", "synthetic:2", "--protocol", "mine"]) == 2
