"""Shared fixtures. Real sample data lives in ../shared/data beside the clone; tests that need
it skip cleanly where it is absent (a user's clone)."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MOADEPTH_SHARED_DATA", REPO.parent / "shared" / "data"))


def _heed_signals_in_children() -> None:
    """The CLI keeps a signal its process was started ignoring ignored (nohup, a script's
    background job), and children inherit an ignored signal: a test run started that way would
    send its subprocesses signals they never see. The tests' own children start heeding them."""
    for sig, handler in ((signal.SIGINT, signal.default_int_handler), (signal.SIGHUP, signal.SIG_DFL)):
        if signal.getsignal(sig) is signal.SIG_IGN:
            signal.signal(sig, handler)


_heed_signals_in_children()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real NYU and KITTI samples), or skip."""
    if not (SHARED_DATA / "nyu_samples").is_dir():
        pytest.skip(f"sample data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session", autouse=True)
def _few_threads():
    """CI has 2 cores; keep torch from oversubscribing them."""
    try:
        import torch
    except ImportError:
        yield
        return
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    yield


# -- the one tiny model of the test suite, and what the package's own code makes of it --------

@pytest.fixture(scope="session")
def tiny_model():
    """moadepth-tiny with random weights (seed 0) and non-zero biases everywhere, so every fold
    of the exporter matters; eval mode. Shared by the session: restore anything you change."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("open_clip")
    from moadepth_edge.config import get_preset
    from moadepth_edge.model import build_model

    torch.manual_seed(0)
    model = build_model(get_preset("moadepth-tiny"), pretrained=False)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.normal_(0.0, 0.2)
    return model.eval()


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_model, tmp_path_factory) -> Path:
    """The tiny model saved as a checkpoint folder."""
    from moadepth_edge.model.checkpoint import save_checkpoint

    return save_checkpoint(tiny_model, tmp_path_factory.mktemp("ckpt") / "tiny")


@pytest.fixture(scope="session")
def tiny_onnx(tiny_checkpoint, tmp_path_factory) -> Path:
    """Its fused FP32 ONNX export (float RGB NCHW input, input_kind "image")."""
    from moadepth_edge.export.onnx import export_onnx

    path = tmp_path_factory.mktemp("onnx") / "tiny_fp32.onnx"
    export_onnx(tiny_checkpoint, path)
    return path


@pytest.fixture(scope="session")
def tiny_frame_onnx(tiny_checkpoint, tmp_path_factory) -> Path:
    """The same model exported with the preprocessing in the graph (uint8 BGR frames in)."""
    from moadepth_edge.export.onnx import export_onnx

    path = tmp_path_factory.mktemp("onnx") / "tiny_frame.onnx"
    export_onnx(tiny_checkpoint, path, embed_preprocess=True)
    return path


@pytest.fixture(scope="session")
def tiny_int8_onnx(tiny_checkpoint, tmp_path_factory) -> Path:
    """The same model as INT8 Q/DQ, calibrated on two synthetic frames."""
    from moadepth_edge.export.onnx import export_onnx

    path = tmp_path_factory.mktemp("onnx") / "tiny_int8.onnx"
    export_onnx(tiny_checkpoint, path, precision="int8", calib="synthetic:2", calib_batch_size=2)
    return path


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


@pytest.fixture(scope="session")
def clip(tmp_path_factory):
    """A 12-frame 96x128 synthetic camera walk: ClipInfo (video, true depth, intrinsics)."""
    from moadepth_edge.data.synthetic import write_clip

    return write_clip(tmp_path_factory.mktemp("clip"), n_frames=12, size=(96, 128), seed=1)
