"""TensorRT backend: I/O selection, profile checks, header-first loading, torch-free import; on a
GPU with TensorRT, CUDA-graph replay and header mismatches (those tests skip cleanly here)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from moadepth_edge.formats.artifact import ModelArtifact
from moadepth_edge.config import get_preset
from moadepth_edge.errors import IncompatibleEngine, MissingDependency, UserError
from moadepth_edge.runtime.backends.tensorrt import TensorRTBackend, TensorSpec, check_in_profile, select_io

REPO = Path(__file__).resolve().parents[3]
F32 = np.dtype(np.float32)


@pytest.fixture()
def artifact() -> ModelArtifact:
    cfg = get_preset("moadepth-tiny")
    return ModelArtifact(model_cfg=cfg)


def test_select_io_finds_the_input_and_the_depth_output(artifact):
    specs = [TensorSpec("image", True, (-1, 3, 64, 64), F32),
             TensorSpec("grid_depth", False, (-1, 1, 2, 2), F32),
             TensorSpec("depth", False, (-1, 1, 64, 64), F32)]
    inp, out = select_io(specs, artifact, "m.engine")
    assert (inp.name, out.name) == ("image", "depth")


@pytest.mark.parametrize("specs,match", [
    ([TensorSpec("depth", False, (1, 1, 64, 64), F32)], "has 0 inputs"),
    ([TensorSpec("frame", True, (1, 64, 64, 3), F32), TensorSpec("depth", False, (1, 1, 64, 64), F32)],
     "engine input 'frame' is not the model's 'image'"),
    ([TensorSpec("image", True, (1, 3, 64, 64), F32), TensorSpec("out", False, (1, 1, 64, 64), F32)],
     "no output 'depth'"),
])
def test_select_io_refuses_engines_that_do_not_fit_the_model(artifact, specs, match):
    with pytest.raises(UserError, match=match):
        select_io(specs, artifact, "m.engine")


def test_check_in_profile():
    profile = [(1, 3, 64, 64), (2, 3, 64, 64), (4, 3, 64, 64)]
    check_in_profile((1, 3, 64, 64), profile, "m.engine")
    check_in_profile((4, 3, 64, 64), profile, "m.engine")
    with pytest.raises(UserError, match=r"\(8, 3, 64, 64\) is outside m.engine's profile"):
        check_in_profile((8, 3, 64, 64), profile, "m.engine")
    with pytest.raises(UserError, match="outside"):
        check_in_profile((1, 3, 64), profile, "m.engine")


def test_a_file_without_header_is_refused_before_tensorrt_is_needed(tmp_path):
    path = tmp_path / "foreign.engine"
    path.write_bytes(b"ftrt" + bytes(100))
    with pytest.raises(UserError, match="no moadepth header"):
        TensorRTBackend.load(path)
    with pytest.raises(UserError, match="model not found"):
        TensorRTBackend.load(tmp_path / "missing.engine")


def test_unknown_options_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="unknown tensorrt option"):
        TensorRTBackend._open(tmp_path / "x.engine", streams=2)


def test_the_backend_module_imports_without_torch_tensorrt_or_cuda():
    script = ("import sys\n"
              "for n in ('torch', 'tensorrt', 'cuda', 'pycuda'):\n"
              "    sys.modules[n] = None\n"
              "import moadepth_edge.runtime.backends.tensorrt as m\n"
              "assert m.TensorRTBackend.available() is False\n"
              "print('ok')\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


# -- on a GPU with TensorRT ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def engine(request, tmp_path_factory) -> Path:
    pytest.importorskip("tensorrt")
    from moadepth_edge.runtime.cuda_api import CudaError, load_cuda

    try:
        load_cuda().device_info(0)
    except (MissingDependency, CudaError) as exc:
        pytest.skip(f"no usable CUDA GPU: {exc}")
    from moadepth_edge.export.tensorrt import BuildOptions, build_engine
    from moadepth_edge.formats.profile import DimRange

    tiny_onnx = request.getfixturevalue("tiny_onnx")  # exported only once a GPU is known to exist
    path = tmp_path_factory.mktemp("engine") / "tiny.engine"
    build_engine(tiny_onnx, path, BuildOptions(precision="fp32", batch=DimRange(1, 2, 4), raw=True))
    return path


@pytest.mark.gpu
@pytest.mark.tensorrt
def test_graph_replay_matches_plain_execution_and_shapes_can_change(engine):
    rng = np.random.default_rng(0)
    x2, x1 = rng.random((2, 3, 64, 64), np.float32), rng.random((1, 3, 64, 64), np.float32)
    with TensorRTBackend.load(engine, cuda_graph=False) as plain:
        ref2, ref1 = plain.infer(x2), plain.infer(x1)
    with TensorRTBackend.load(engine) as graphed:
        first = graphed.infer(x2)  # plain run, then capture
        assert graphed.runner.graph is not None
        np.testing.assert_allclose(graphed.infer(x2), first, rtol=0, atol=0)  # replay
        np.testing.assert_allclose(first, ref2, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(graphed.infer(x1), ref1, rtol=1e-5, atol=1e-6)  # new shape
        with pytest.raises(UserError, match="outside"):
            graphed.infer(rng.random((8, 3, 64, 64), np.float32))


@pytest.mark.gpu
@pytest.mark.tensorrt
def test_a_header_from_another_tensorrt_is_refused_in_one_line(engine, tmp_path):
    sidecar = engine.with_name(engine.name + ".json")
    header = json.loads(sidecar.read_text())
    header["tensorrt_version"] = "9.0.0"
    copy = tmp_path / engine.name
    copy.write_bytes(engine.read_bytes())
    (tmp_path / sidecar.name).write_text(json.dumps(header))
    with pytest.raises(IncompatibleEngine, match="rebuild it here with `moadepth-edge build"):
        TensorRTBackend.load(copy)
