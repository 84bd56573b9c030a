"""The README's first command: the bundled tiny model, exported and streamed over a clip."""
from __future__ import annotations

import json

import cv2
import pytest

from cli_helpers import decoded_frames

from moadepth_edge.cli.main import main
from moadepth_edge.demo import DEMO_CHECKPOINT, run_demo



@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    summary = run_demo(out, frames=6, say=lambda _m: None)
    return out, summary


def test_bundled_checkpoint_is_present():
    assert (DEMO_CHECKPOINT / "config.json").is_file()
    assert (DEMO_CHECKPOINT / "model.safetensors").is_file()


def test_demo_writes_everything_it_promises(demo_out):
    out, summary = demo_out
    assert summary.frames == 6
    assert decoded_frames(out / "run.mp4") == 6  # one output frame per input frame
    assert len(list((out / "depth").glob("*.png"))) == 6
    frame = cv2.imread(str(out / "frame.png"))
    assert frame is not None and frame.shape[1] == 3 * 320  # frame | predicted | true
    saved = json.loads((out / "summary.json").read_text())
    assert saved["delta1"] == summary.delta1 and saved["frames"] == 6


def test_a_second_demo_into_the_same_folder_replaces_the_first(tmp_path):
    out = tmp_path / "demo"
    run_demo(out, frames=4, size=(60, 80), say=lambda _m: None)
    summary = run_demo(out, frames=3, size=(60, 80), say=lambda _m: None)
    assert summary.frames == 3 and decoded_frames(out / "run.mp4") == 3
    assert sorted(p.name for p in (out / "depth").glob("*.png")) == ["000000.png", "000001.png", "000002.png"]
    assert len(list((out / "clip" / "depth").glob("*.png"))) == 3


def test_bundled_model_reads_depth_from_the_image(demo_out):
    """The shipped model must beat a constant guess at the clip's own median depth."""
    import numpy as np

    from moadepth_edge.demo import demo_clip
    from moadepth_edge.train.metrics import MetricAverager, evaluate_depth, get_protocol

    out, summary = demo_out
    clip = demo_clip(out / "clip-check", 6)
    protocol = get_protocol("standard", crop="none")
    constant = MetricAverager()
    for i in range(6):
        gt = clip.read_depth(i)
        constant.update(evaluate_depth(np.full_like(gt, np.median(gt[gt > 0])), gt, protocol))
    assert summary.rmse < constant.result()["rmse"]


def test_demo_cli_and_missing_checkpoint(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "o"), "--frames", "2"]) == 0
    assert "delta1" in capsys.readouterr().out
    assert main(["demo", "--out", str(tmp_path / "o2"), "--checkpoint", str(tmp_path / "none")]) == 2
    assert "demo checkpoint not found" in capsys.readouterr().err


@pytest.mark.parametrize("where, message", [("/proc/moadepth-demo", "cannot create folder /proc/moadepth-demo"),
                                            ("{file}", "is a file, expected a folder"),
                                            ("{file}/sub", "is a file, not a folder")])
def test_an_unwritable_out_is_one_line_before_any_work(tmp_path, capsys, where, message):
    (tmp_path / "file").write_text("x")
    assert main(["demo", "--out", where.format(file=tmp_path / "file"), "--frames", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and message in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.slow
def test_sigterm_while_streaming_finalises_the_outputs_and_reports(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    out = tmp_path / "demo"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-u", "-m", "moadepth_edge", "demo", "--out", str(out),
                             "--frames", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    for line in proc.stdout:
        if line.startswith("3/3"):
            break
    deadline = time.monotonic() + 60
    while not list((out / "depth").glob("*.png")) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert "error:" not in stderr and "Traceback" not in stdout + stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stop_reason"] == "stopped by SIGTERM" and 0 < summary["frames"] < 60
    assert f"stopped by SIGTERM after {summary['frames']} frames" in stdout
    assert decoded_frames(out / "run.mp4") == summary["frames"]  # finalised: it plays, every frame
    assert len(list((out / "depth").glob("*.png"))) == summary["frames"]
    assert cv2.imread(str(out / "frame.png")) is not None
