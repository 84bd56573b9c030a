"""SIGINT / SIGTERM on a real `moadepth-edge train` process: it finishes the step it is at,
checkpoints it, says once how to continue, exits 130 / 143, and `--resume` continues from that
step."""
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
ENV = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "OMP_NUM_THREADS": "1"}
STEPS_PER_EPOCH = 16  # synthetic:64 at batch 4


def _train_until_logging(out: Path, workers: int, new_group: bool) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "moadepth_edge", "train", "--preset", "moadepth-tiny",
           "--data", "synthetic:64", "--synthetic-size", "24x32", "--epochs", "50", "--batch-size", "4",
           "--lr", "1e-3", "--workers", str(workers), "--eval-every", "100", "--eval-limit", "2",
           "--no-progress", "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=out.parent, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=new_group)
    deadline = time.monotonic() + 240
    log = out / "train.csv"  # first written at step 10
    while not log.is_file() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    if not log.is_file():
        proc.kill()
        pytest.fail(f"training never logged: {proc.communicate()[1][-2000:]}")
    return proc


def _stopped(proc: subprocess.Popen, send) -> str:
    try:
        send()
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return err


def _check_stop(out: Path, err: str) -> int:
    assert "Traceback" not in err and "error:" not in err, err[-2000:]
    step = read_checkpoint_meta(out / "last")["extra"]["step"]
    assert 10 <= step < 50 * STEPS_PER_EPOCH
    line = f"stopped at step {step}; checkpoint in {out / 'last'}; continue with: " \
           f"moadepth-edge train --resume --out {out}"
    assert err.count("stopped at step") == 1 and line in err.splitlines(), err[-2000:]
    return step


@pytest.mark.slow  # a real training process: ~10 s idle
def test_sigint_checkpoints_mid_epoch_and_resumes(tmp_path):
    out = tmp_path / "run"
    proc = _train_until_logging(out, workers=0, new_group=False)
    err = _stopped(proc, lambda: proc.send_signal(signal.SIGINT))
    assert proc.returncode == 130, err[-2000:]
    step = _check_stop(out, err)

    epochs = step // STEPS_PER_EPOCH + 1  # finish the interrupted epoch only
    resumed = Trainer.resume(out, epochs=epochs, progress=False)
    assert resumed.step == step
    resumed.fit()
    assert resumed.step == epochs * STEPS_PER_EPOCH


@pytest.mark.slow  # two real processes: ~15 s idle
def test_sigterm_to_the_process_group_checkpoints_and_resume_continues(tmp_path):
    """As a service manager stops a unit: SIGTERM to every process of the group, DataLoader
    workers included; the workers leave the stop to the main process."""
    out = tmp_path / "run"
    proc = _train_until_logging(out, workers=1, new_group=True)
    err = _stopped(proc, lambda: os.killpg(proc.pid, signal.SIGTERM))
    assert proc.returncode == 143, err[-2000:]
    step = _check_stop(out, err)

    epochs = step // STEPS_PER_EPOCH + 1
    cont = subprocess.run([sys.executable, "-m", "moadepth_edge", "train", "--resume", "--out", str(out),
                           "--epochs", str(epochs), "--workers", "0", "--no-progress"],
                          cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=300)
    assert cont.returncode == 0, cont.stderr[-2000:]
    assert read_checkpoint_meta(out / "last")["extra"]["step"] == epochs * STEPS_PER_EPOCH


@pytest.mark.slow  # a real training process: ~5 s idle
def test_sigterm_during_an_evaluation_stops_at_the_next_batch(tmp_path):
    """The held-out evaluation (here: 100,000 frames, far longer than any grace period) ends at
    its next batch on a stop: last/ is checkpointed and the process exits 143 in seconds."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "moadepth_edge", "train", "--preset", "moadepth-tiny", "--data", "synthetic:8",
           "--synthetic-size", "24x32", "--epochs", "1", "--batch-size", "4", "--workers", "0",
           "--eval-data", "synthetic:100000", "--eval-limit", "0", "--no-progress", "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not out.is_dir() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(6)  # into the evaluation of the initial model (building it takes 1-2 s)
    started = time.monotonic()
    err = _stopped(proc, lambda: proc.send_signal(signal.SIGTERM))
    assert proc.returncode == 143, err[-2000:]
    assert time.monotonic() - started < 60
    assert read_checkpoint_meta(out / "last")["extra"]["step"] == 0
    assert "continue with: moadepth-edge train --resume" in err
