"""`moadepth-edge run`: in-process through `main(argv)`, and as a subprocess where the exact
stderr a user sees matters."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from moadepth_edge.cli.main import main
from moadepth_edge.runtime.pointcloud import read_ply
from moadepth_edge.runtime.sinks import read_depth_png

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "moadepth_edge", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_save_writes_one_output_frame_per_input_frame(tiny_onnx, clip, tmp_path, video_frames):
    out = tmp_path / "out.mp4"
    rc = main(["run", str(tiny_onnx), "--source", str(clip.video), "--headless", "--save", str(out),
               "--threads", "1"])
    assert rc == 0
    frames = video_frames(out)
    assert len(frames) == clip.n_frames
    h, w = clip.size
    assert frames[0].shape[0] == h and frames[0].shape[1] > 2 * w  # frame | depth + legend


def test_depth_files_and_point_clouds(tiny_onnx, clip, tmp_path):
    rc = main(["run", str(tiny_onnx), "--source", str(clip.video), "--headless",
               "--save-depth", str(tmp_path / "depth"), "--depth-format", "png,npy",
               "--pointcloud", str(tmp_path / "ply"), "--intrinsics", str(clip.intrinsics_file),
               "--max-frames", "3", "--smooth", "0.5", "--colormap", "gray", "--range", "0.5:8"])
    assert rc == 0
    assert sorted(p.name for p in (tmp_path / "depth").iterdir()) == [
        f"{i:06d}.{ext}" for i in range(3) for ext in ("npy", "png")]
    assert read_depth_png(tmp_path / "depth" / "000002.png").shape == clip.size
    points, _ = read_ply(tmp_path / "ply" / "000000.ply")
    assert len(points) > 0 and (points[:, 2] > 0).all()


def test_missing_camera_is_one_line_and_non_zero(tiny_onnx):
    probe = cv2.VideoCapture(0)
    present = probe.isOpened()
    probe.release()
    if present:
        pytest.skip("this machine has a camera 0")
    proc = _cli("run", str(tiny_onnx), "--camera", "0", "--headless")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["error: cannot open camera 0"]
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("args, message", [
    (["--camera", "0", "--source", "x.mp4"], "exactly one of"),
    (["--source", "missing.mp4"], "source not found"),
    (["--source", "{clip}", "--range", "8"], "--range must be MIN:MAX"),
    (["--source", "{clip}", "--colormap", "jet"], "unknown colormap"),
    (["--source", "{clip}", "--backend", "openvino"], "unknown backend"),
])
def test_user_mistakes_are_one_line(tiny_onnx, clip, capsys, args, message):
    args = [a.replace("{clip}", str(clip.video)) for a in args]
    assert main(["run", str(tiny_onnx), "--headless", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_missing_model_is_one_line(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.onnx"), "--source", "x.mp4"]) == 2
    assert "model not found" in capsys.readouterr().err


def test_a_source_with_no_readable_frame_fails(tiny_onnx, tmp_path, capsys):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg")
    assert main(["run", str(tiny_onnx), "--source", str(bad), "--headless"]) == 2
    assert capsys.readouterr().err.strip().endswith(f"error: no frame could be read from {bad}")


def test_depth_and_point_clouds_of_image_inputs_keep_each_inputs_name(tiny_onnx, shared_data, tmp_path):
    """A folder, a glob or a .txt list of images: outputs are named after the inputs
    (`rgb_00050.jpg` -> `rgb_00050.png`), so other tools can score them; a video keeps indices."""
    import shutil

    from moadepth_edge.cli.main import main

    nyu = shared_data / "nyu_samples"
    images = tmp_path / "images"
    images.mkdir()
    for name in ("rgb_00000.jpg", "rgb_00050.jpg"):
        shutil.copy(nyu / name, images / name)
    expected = {"rgb_00000", "rgb_00050"}
    for i, source in enumerate((str(images), str(images / "rgb_*.jpg"), str(nyu / "test_files.txt"))):
        out = tmp_path / f"out{i}"
        assert main(["run", str(tiny_onnx), "--source", source, "--headless", "--save-depth", str(out / "depth"),
                     "--pointcloud", str(out / "ply"), "--pointcloud-stride", "8"]) == 0
        names = {p.stem for p in (out / "depth").glob("*.png")}
        assert names == (expected | {"rgb_00100"} if source.endswith(".txt") else expected), source
        assert {p.stem for p in (out / "ply").glob("*.ply")} == names
