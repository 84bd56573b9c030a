"""Runtime fixtures: a tiny model exported by the package's own exporter (image and frame
inputs), its checkpoint, and a small synthetic clip. Built once per session; only the export
needs torch."""
from __future__ import annotations

from pathlib import Path

import pytest

from moadepth_edge.config import get_preset

PRESET = "moadepth-tiny"


@pytest.fixture(scope="session")
def tiny_model():
    """The tiny preset with random weights (eval mode); needs torch + open_clip."""
    pytest.importorskip("torch")
    pytest.importorskip("open_clip")
    import torch

    from moadepth_edge.model import build_model

    torch.manual_seed(0)
    return build_model(get_preset(PRESET), pretrained=False).eval()


@pytest.fixture(scope="session")
def tiny_onnx(request, tmp_path_factory) -> Path:
    """An exported tiny model taking float RGB NCHW images (input_kind "image"). Kept at one
    place per session, so test folders that load these fixtures too (tests/cli) reuse it."""
    from moadepth_edge.export.onnx import export_onnx

    path = tmp_path_factory.getbasetemp() / "shared-onnx" / "tiny.onnx"
    if not path.is_file():
        path.parent.mkdir(exist_ok=True)
        export_onnx(request.getfixturevalue("tiny_model"), path)
    return path


@pytest.fixture(scope="session")
def tiny_frame_onnx(tiny_model, tmp_path_factory) -> Path:
    """The same model exported with preprocessing in the graph (input_kind "frame")."""
    from moadepth_edge.export.onnx import export_onnx

    path = tmp_path_factory.mktemp("onnx") / "tiny_frame.onnx"
    export_onnx(tiny_model, path, embed_preprocess=True)
    return path


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_model, tmp_path_factory) -> Path:
    """The same model saved as a checkpoint folder (for the torch backend)."""
    from moadepth_edge.model.checkpoint import save_checkpoint

    folder = tmp_path_factory.mktemp("ckpt") / "tiny"
    save_checkpoint(tiny_model, folder)
    return folder


@pytest.fixture(scope="session")
def clip(tmp_path_factory):
    """A 12-frame 96x128 synthetic camera walk: ClipInfo (video, true depth, intrinsics)."""
    from moadepth_edge.data.synthetic import write_clip

    return write_clip(tmp_path_factory.mktemp("clip"), n_frames=12, size=(96, 128), seed=1)


def read_video(path: Path) -> list:
    """Every frame OpenCV decodes from `path` (empty when it does not open)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(image)
    cap.release()
    return frames


@pytest.fixture
def video_frames():
    """`video_frames(path)` -> the list of decoded frames of a video file."""
    return read_video


@pytest.fixture
def small_disk(tmp_path):
    """`small_disk(kib)` -> a folder on a file system of `kib` KiB (a tmpfs), unmounted after
    the test: a real full disk. Skips where mounting is not permitted (not root)."""
    import subprocess

    mounted: list[Path] = []

    def make(kib: int) -> Path:
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        try:
            proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(folder)],
                                  capture_output=True, text=True)
            why = proc.stderr.strip() or proc.returncode
        except OSError as exc:
            proc, why = None, exc
        if proc is None or proc.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here: {why}")
        mounted.append(folder)
        return folder

    yield make
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)
