from __future__ import annotations

import pytest

from moadepth_edge.errors import UserError
from moadepth_edge.runtime.backends import backend_names, select_backend
from moadepth_edge.runtime.backends.onnxruntime import OnnxRuntimeBackend
from moadepth_edge.runtime.backends.torch import TorchBackend


def test_onnx_suffix_selects_onnxruntime(tmp_path):
    assert select_backend(tmp_path / "model.onnx") is OnnxRuntimeBackend
    assert select_backend(tmp_path / "MODEL.ONNX") is OnnxRuntimeBackend


def test_folder_selects_torch(tmp_path):
    pytest.importorskip("torch")
    assert select_backend(tmp_path) is TorchBackend


def test_engine_suffix_needs_tensorrt(tmp_path):
    # without TensorRT (this machine) an engine is one clear line, never an ImportError
    try:
        cls = select_backend(tmp_path / "model.engine")
    except UserError as exc:
        assert "tensorrt" in str(exc).lower()
    else:
        assert cls.name == "tensorrt"


def test_unknown_suffix_and_backend_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="which backend"):
        select_backend(tmp_path / "model.bin")
    with pytest.raises(UserError, match="unknown backend"):
        select_backend(tmp_path / "model.onnx", "openvino")


def test_explicit_backend_overrides_suffix(tmp_path):
    assert select_backend(tmp_path / "weird.name", "onnxruntime") is OnnxRuntimeBackend
    assert set(backend_names()) == {"onnxruntime", "tensorrt", "torch"}
