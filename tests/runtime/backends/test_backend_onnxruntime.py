from __future__ import annotations

import numpy as np
import pytest

from moadepth_edge.errors import UserError
from moadepth_edge.runtime.backends import load_backend
from moadepth_edge.runtime.backends.onnxruntime import (
    OnnxRuntimeBackend,
    resolve_providers,
    tensorrt_provider_options,
)


def test_matches_the_torch_model(tiny_onnx, tiny_model):
    import torch

    x = np.random.default_rng(0).random((2, 3, 64, 64), dtype=np.float32)
    with load_backend(tiny_onnx, threads=1) as backend:
        assert backend.artifact.model_cfg == tiny_model.cfg
        depth = backend.infer(x)
    with torch.no_grad():
        ref = tiny_model(torch.from_numpy(x)).numpy()
    assert depth.shape == (2, 1, 64, 64) and depth.dtype == np.float32
    np.testing.assert_allclose(depth, ref, rtol=1e-4, atol=1e-4)


def test_wrong_input_is_one_line(tiny_onnx):
    with load_backend(tiny_onnx, threads=1) as backend:
        with pytest.raises(UserError, match="shape"):
            backend.infer(np.zeros((1, 3, 32, 32), np.float32))
        with pytest.raises(UserError, match="dtype"):
            backend.infer(np.zeros((1, 3, 64, 64), np.uint8))


def test_missing_corrupt_and_metadata_free_models(tmp_path, tiny_onnx):
    import onnx

    with pytest.raises(UserError, match="not found"):
        OnnxRuntimeBackend.load(tmp_path / "none.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a protobuf at all")
    with pytest.raises(UserError, match="not a readable ONNX model"):
        OnnxRuntimeBackend.load(junk)
    bare = onnx.load(str(tiny_onnx))
    del bare.metadata_props[:]
    onnx.save(bare, str(tmp_path / "bare.onnx"))
    with pytest.raises(UserError, match="no moadepth metadata"):
        OnnxRuntimeBackend.load(tmp_path / "bare.onnx")


def test_unknown_option_is_rejected(tiny_onnx):
    with pytest.raises(UserError, match="unknown onnxruntime option"):
        OnnxRuntimeBackend.load(tiny_onnx, device="cuda")


def test_provider_resolution():
    cpu_only = ["CPUExecutionProvider"]
    assert resolve_providers("auto", cpu_only) == ["CPUExecutionProvider"]
    gpu = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert resolve_providers("auto", gpu) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert resolve_providers("tensorrt,cuda", gpu) == gpu
    with pytest.raises(UserError, match="not available"):
        resolve_providers("cuda", cpu_only)


def test_tensorrt_provider_options_create_cache_folders(tmp_path):
    opts = tensorrt_provider_options(1, True, tmp_path / "engines", tmp_path / "timing")
    assert opts["device_id"] == "1" and opts["trt_fp16_enable"] == "True"
    assert opts["trt_engine_cache_enable"] == "True"
    assert opts["trt_engine_cache_path"] == str(tmp_path / "engines")
    assert opts["trt_timing_cache_path"] == str(tmp_path / "timing")
    assert (tmp_path / "engines").is_dir() and (tmp_path / "timing").is_dir()
    assert "trt_engine_cache_enable" not in tensorrt_provider_options(0, False, None, None)


def test_fp16_model_runs_on_cpu_and_agrees_with_fp32(tiny_model, tiny_onnx, tmp_path):
    """ORT 1.32's NCHWc transformer segfaults on FP16 graphs; the backend turns it off."""
    from moadepth_edge.export import export_onnx
    from moadepth_edge.runtime.backends import load_backend

    fp16 = tmp_path / "tiny-fp16.onnx"
    export_onnx(tiny_model, fp16, precision="fp16")
    x = np.random.default_rng(0).random((2, 3, 64, 64), dtype=np.float32)
    with load_backend(fp16) as half, load_backend(tiny_onnx) as full:
        assert half.artifact.precision == "fp16"
        a, b = half.infer(x), full.infer(x)
    assert a.dtype == np.float32 and a.shape == b.shape
    assert np.max(np.abs(a - b) / np.abs(b)) < 2e-2
