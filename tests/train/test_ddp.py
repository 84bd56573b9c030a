"""Data-parallel training under torchrun: 2 CPU processes (gloo) write one checkpoint."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from moadepth_edge.model.checkpoint import load_checkpoint, read_checkpoint_meta
from moadepth_edge.train.state import load_trainer_state

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # three interpreters importing torch: ~10 s idle, 30 s on a busy 2-core box
def test_torchrun_two_processes(tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "moadepth_edge", "train", "--preset", "moadepth-tiny", "--data", "synthetic:16",
           "--synthetic-size", "24x32", "--epochs", "1", "--batch-size", "4", "--lr", "1e-3",
           "--workers", "0", "--eval-limit", "4", "--no-progress", "--out", str(out)]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = read_checkpoint_meta(out / "last")
    assert meta["extra"]["step"] == 2  # 16 frames / 2 ranks / batch 4
    state = load_trainer_state(out / "last")
    assert state.world_size == 2 and state.step == 2
    model = load_checkpoint(out / "last")
    assert model(torch.rand(1, 3, 64, 64)).shape == (1, 1, 64, 64)
    assert proc.stdout.count("checkpoints:") == 1  # rank 0 alone reports and writes
