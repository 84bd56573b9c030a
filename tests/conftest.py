"""Shared fixtures. Real sample data lives in ../shared/data beside the clone; tests that need
it skip cleanly where it is absent (a user's clone)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MOADEPTH_SHARED_DATA", REPO.parent / "shared" / "data"))


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


@pytest.fixture(scope="session")
def tiny_artifacts(tmp_path_factory) -> dict[str, Path]:
    """moadepth-tiny with random weights (seed 0): {"checkpoint": folder, "onnx": its fused
    FP32 export}, made once per session by the package's own code."""
    torch = pytest.importorskip("torch")
    from moadepth_edge.config import get_preset
    from moadepth_edge.export.onnx import export_onnx
    from moadepth_edge.model import build_model
    from moadepth_edge.model.checkpoint import save_checkpoint

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("tiny_artifacts")
    ckpt = save_checkpoint(build_model(get_preset("moadepth-tiny")).eval(), root / "ckpt")
    export_onnx(ckpt, root / "tiny.onnx")
    return {"checkpoint": ckpt, "onnx": root / "tiny.onnx"}

