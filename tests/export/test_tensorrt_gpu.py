"""TensorRT engines from the tiny preset against ONNX Runtime FP32 (needs TensorRT and a GPU).

FP16: relative error (max |diff| / max |reference|) under 1e-2. INT8: delta1 agreement (share
of pixels within a factor 1.25 of the FP32 depth) of at least 0.98. Skipped cleanly without
TensorRT, cuda-python/pycuda or a GPU; never run in this project's CI (it has no GPU).
"""
from __future__ import annotations

import numpy as np
import pytest

from moadepth_edge.bench.accuracy import agreement
from moadepth_edge.errors import MissingDependency
from moadepth_edge.export.onnx import relative_error
from moadepth_edge.export.tensorrt import BuildOptions, build_engine
from moadepth_edge.formats.profile import DimRange

pytestmark = [pytest.mark.gpu, pytest.mark.tensorrt, pytest.mark.slow]
BATCH = DimRange(1, 2, 4)


def require_gpu() -> None:
    pytest.importorskip("tensorrt")
    from moadepth_edge.runtime.cuda_api import CudaError, load_cuda

    try:
        load_cuda().device_info(0)
    except (MissingDependency, CudaError) as exc:
        pytest.skip(f"no usable CUDA GPU: {exc}")


@pytest.fixture(scope="module")
def onnx_files(tmp_path_factory):
    require_gpu()
    pytest.importorskip("torch")
    from moadepth_edge.export import export_onnx

    folder = tmp_path_factory.mktemp("trt")
    files = {}
    for precision, extra in (("fp32", {}), ("fp16", {}), ("int8", {"calib": "synthetic:16"})):
        files[precision] = folder / f"tiny-{precision}.onnx"
        export_onnx("moadepth-tiny", files[precision], precision=precision, **extra)
    return files


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.random((2, 3, 64, 64), dtype=np.float32)


@pytest.fixture(scope="module")
def reference(onnx_files, images) -> np.ndarray:
    from moadepth_edge.runtime.backends.onnxruntime import OnnxRuntimeBackend

    with OnnxRuntimeBackend.load(onnx_files["fp32"], providers="cpu") as ort:
        return ort.infer(images)


def run_engine(onnx_path, precision, tmp_path, images) -> np.ndarray:
    from moadepth_edge.runtime.backends.tensorrt import TensorRTBackend

    engine = tmp_path / f"{onnx_path.stem}-{precision}.engine"
    header = build_engine(onnx_path, engine, BuildOptions(precision=precision, batch=BATCH))
    assert header.precision == precision
    with TensorRTBackend.load(engine) as backend:
        return backend.infer(images)


def test_fp16_engine_from_the_fp16_onnx_matches_ort_fp32(onnx_files, reference, images, tmp_path):
    depth = run_engine(onnx_files["fp16"], "fp16", tmp_path, images)
    assert depth.shape == reference.shape and depth.dtype == np.float32
    assert relative_error(depth, reference) < 1e-2


def test_fp16_engine_from_the_fp32_onnx_on_tensorrt_10(onnx_files, reference, images, tmp_path):
    import tensorrt as trt

    if int(trt.__version__.split(".")[0]) >= 11:
        pytest.skip("TensorRT 11 has no FP16 builder flag (covered by the FP16-ONNX test)")
    depth = run_engine(onnx_files["fp32"], "fp16", tmp_path, images)
    assert relative_error(depth, reference) < 1e-2


def test_int8_engine_from_the_qdq_onnx_agrees_with_ort_fp32(onnx_files, reference, images, tmp_path):
    depth = run_engine(onnx_files["int8"], "int8", tmp_path, images)
    assert agreement(list(depth), list(reference), "onnxruntime-fp32").delta1_agreement >= 0.98
