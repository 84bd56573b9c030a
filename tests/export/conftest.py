"""Fixtures for the exporter tests: one tiny random model and its FP32 export per session."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(scope="session")
def tiny_model():
    """moadepth-tiny with random weights and non-zero biases everywhere, so every fold matters."""
    from moadepth_edge.config import get_preset
    from moadepth_edge.model import build_model

    torch.manual_seed(0)
    model = build_model(get_preset("moadepth-tiny"))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.normal_(0.0, 0.2)
    return model.eval()


@pytest.fixture(scope="session")
def tiny_onnx(tiny_model, tmp_path_factory):
    """(path, artifact) of the tiny model's fused FP32 export."""
    from moadepth_edge.export import export_onnx

    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    return path, export_onnx(tiny_model, path)


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_model, tmp_path_factory):
    from moadepth_edge.model.checkpoint import save_checkpoint

    return save_checkpoint(tiny_model, tmp_path_factory.mktemp("ckpt") / "tiny")
