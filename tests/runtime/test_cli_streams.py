"""`moadepth-edge run` with several streams, as a user runs it: per-stream outputs and names,
option mistakes (one error line, exit 2, nothing written), a stalled stream beside a file,
SIGTERM finalising every stream's video."""
from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time

import cv2
import pytest
from cli_helpers import REPO, assert_one_error, decoded_frames, run_cli
from mjpeg_server import SilentCamera


@pytest.fixture(scope="module")
def two_clips(tmp_path_factory):
    """front.mp4 (12 frames) and rear.mp4 (7 frames, another room)."""
    from moadepth_edge.data.synthetic import write_clip

    folder = tmp_path_factory.mktemp("two")
    for name, n, seed in (("front", 12, 1), ("rear", 7, 5)):
        info = write_clip(folder / name, n_frames=n, size=(96, 128), seed=seed)
        shutil.copy(info.video, folder / f"{name}.mp4")
    return folder / "front.mp4", folder / "rear.mp4"



def test_each_stream_writes_every_frame_under_its_own_name(tiny_onnx, two_clips, tmp_path):
    front, rear = two_clips
    out = tmp_path / "out"
    proc = run_cli("run", tiny_onnx, "--source", front, "--source", rear, "--source", front, "--headless",
                   "--save", out / "sbs.mp4", "--save-depth", out / "depth", "--pointcloud", out / "ply")
    assert proc.returncode == 0, proc.stderr
    counts = {"front": 12, "rear": 7, "front_2": 12}
    for name, n in counts.items():
        assert decoded_frames(out / f"sbs_{name}.mp4") == n
        assert sorted(p.name for p in (out / "depth" / name).iterdir()) == [f"{i:06d}.png" for i in range(n)]
        assert len(list((out / "ply" / name).glob("*.ply"))) == n
    assert sorted(p.name for p in out.iterdir()) == ["depth", "ply", "sbs_front.mp4", "sbs_front_2.mp4",
                                                     "sbs_rear.mp4"]
    assert "3 streams, 31 frames" in proc.stderr
    for name, n in counts.items():
        assert f"  {name}: {n} frames" in proc.stderr


def test_no_batch_streams_runs_one_frame_per_call(tiny_onnx, two_clips, tmp_path):
    front, rear = two_clips
    out = tmp_path / "out"
    proc = run_cli("run", tiny_onnx, "--source", front, "--source", rear, "--headless", "--no-batch-streams",
                   "--save-depth", out / "depth")
    assert proc.returncode == 0, proc.stderr
    assert "1.00 frames per inference call (at most 1)" in proc.stderr
    assert len(list((out / "depth" / "front").iterdir())) == 12 and len(list((out / "depth" / "rear").iterdir())) == 7


@pytest.mark.parametrize("args, expected", [
    (["--camera", "3", "--camera", "3"], "--camera 3 is given twice"),
    (["-s", "{front}", "-s", "{rear}", "--save-bag", "{tmp}/x.mcap"], "--save-bag takes one stream"),
    (["-s", "{front}", "-s", "{rear}", "--serve", "0"], "--serve takes one stream"),
    (["-s", "{front}", "-s", "{rear}", "--intrinsics", "500,500,64,48", "--intrinsics", "1,1,1,1",
      "--intrinsics", "1,1,1,1"], "--intrinsics is given 3 times for 2 streams"),
    (["-s", "{front}", "--intrinsics", "500,500,64,48", "--intrinsics", "1,1,1,1"],
     "--intrinsics is given 2 times for one stream"),
    (["-s", "{front}", "-s", "{rear}", "--save", "{tmp}/out.txt"], "--save {tmp}/out.txt: expected a .mp4"),
    (["-s", "{front}", "-s", "{tmp}/missing.mp4", "--save-depth", "{tmp}/d"], "source not found"),
    (["-s", "{front}", "-s", "{rear}", "--intrinsics", "1,2"], "intrinsics must be fx,fy,cx,cy"),
])
def test_option_mistakes_are_one_error_line_before_any_work(tiny_onnx, two_clips, tmp_path, args, expected):
    front, rear = two_clips
    fill = {"front": front, "rear": rear, "tmp": tmp_path}
    proc = run_cli("run", tiny_onnx, *(a.format(**fill) for a in args), "--headless")
    line = assert_one_error(proc.returncode, proc.stderr)
    assert expected.format(**fill) in line
    assert not list(tmp_path.rglob("*.png")) and not list(tmp_path.rglob("*.mp4"))


def test_a_streams_earlier_outputs_are_refused_unless_overwrite(tiny_onnx, two_clips, tmp_path):
    front, rear = two_clips
    (tmp_path / "d" / "rear").mkdir(parents=True)
    (tmp_path / "d" / "rear" / "000000.png").write_bytes(b"earlier run")
    (tmp_path / "v_front.mp4").write_bytes(b"earlier run")
    for flags, what in ((["--save-depth", tmp_path / "d"], "d/rear already holds outputs"),
                        (["--save", tmp_path / "v.mp4"], "v_front.mp4 already exists")):
        proc = run_cli("run", tiny_onnx, "-s", front, "-s", rear, "--headless", *flags)
        assert what in assert_one_error(proc.returncode, proc.stderr)
    proc = run_cli("run", tiny_onnx, "-s", front, "-s", rear, "--headless", "--save-depth", tmp_path / "d",
                   "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert len(list((tmp_path / "d" / "rear").glob("*.png"))) == 7


def test_a_stalled_stream_beside_a_file_fails_alone_after_the_file_is_done(tiny_onnx, two_clips, tmp_path):
    front, _ = two_clips
    with SilentCamera(frames=3) as camera:
        proc = run_cli("run", tiny_onnx, "--source", camera.url("user:s3cret@"), "--source", front,
                       "--source-timeout", "2", "--headless", "--save-depth", tmp_path / "d",
                       "--save", tmp_path / "v.mp4")
    line = assert_one_error(proc.returncode, proc.stderr, expected_rc=1)
    assert "stream stream0:" in line and "delivered no frame for 2 s" in line and "s3cret" not in proc.stderr
    assert len(list((tmp_path / "d" / "front").glob("*.png"))) == 12
    assert decoded_frames(tmp_path / "v_front.mp4") == 12
    stalled = len(list((tmp_path / "d" / "stream0").glob("*.png")))
    assert 1 <= stalled <= 3 and decoded_frames(tmp_path / "v_stream0.mp4") == stalled


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    """A 3000-frame 48x64 video: long enough that a run is still going when it is signalled."""
    path = tmp_path_factory.mktemp("long") / "long.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (64, 48))
    import numpy as np

    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    for i in range(3000):
        writer.write(np.roll(base, i, axis=1))
    writer.release()
    return path


def test_sigterm_finalises_every_streams_video_and_depth(tiny_onnx, long_clip, tmp_path):
    import os

    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "moadepth_edge", "run", str(tiny_onnx), "-s", str(long_clip), "-s", str(long_clip),
           "--headless", "--save", str(out / "v.mp4"), "--save-depth", str(out / "d")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if all(any((out / "d" / n).glob("*.png")) for n in ("long", "long_2")):
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "error:" not in err and "stopped by SIGTERM" in err
    for name in ("long", "long_2"):
        written = len(list((out / "d" / name).glob("*.png")))
        assert 1 <= written < 3000
        assert decoded_frames(out / f"v_{name}.mp4") == written
    assert not list(out.glob(".*.tmp*"))  # no temp file left behind
