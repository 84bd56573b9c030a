"""Ctrl-C on a real `moadepth-edge train` process: it checkpoints the step it is at, exits
with 130, and `--resume` continues from that step."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from moadepth_edge.model.checkpoint import read_checkpoint_meta
from moadepth_edge.train.trainer import Trainer

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # a real training process: ~10 s idle
def test_sigint_checkpoints_mid_epoch_and_resumes(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "moadepth_edge", "train", "--preset", "moadepth-tiny",
           "--data", "synthetic:64", "--synthetic-size", "24x32", "--epochs", "50", "--batch-size", "4",
           "--lr", "1e-3", "--workers", "0", "--eval-every", "100", "--eval-limit", "2", "--no-progress",
           "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        log = out / "train.csv"  # first written at step 10
        while not log.is_file() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert log.is_file(), proc.communicate()[1][-2000:]
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    step = read_checkpoint_meta(out / "last")["extra"]["step"]
    assert 10 <= step < 50 * 16

    epochs = step // 16 + 1  # finish the interrupted epoch only
    resumed = Trainer.resume(out, epochs=epochs, progress=False)
    assert resumed.step == step
    resumed.fit()
    assert resumed.step == epochs * 16
