"""The engine file: header + plan round trip, raw plan + sidecar, damage, and mismatch rules."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from moadepth_edge.formats.artifact import ModelArtifact
from moadepth_edge.config import get_preset
from moadepth_edge.errors import IncompatibleEngine, UserError
from moadepth_edge.formats.engine_file import (
    MAGIC, EngineHeader, RuntimeEnv, check_compatible, read_engine, write_engine,
)

PLAN = bytes(range(256)) * 40  # stands for TensorRT's opaque plan bytes


@pytest.fixture()
def header() -> EngineHeader:
    cfg = get_preset("moadepth-tiny")
    artifact = ModelArtifact(model_cfg=cfg, precision="fp16")
    return EngineHeader(
        tensorrt_version="10.3.0", cuda_version="12.6", gpu_name="Orin", compute_capability=(8, 7),
        precision="fp16", artifact=artifact, onnx_sha256="ab" * 32, onnx_name="tiny.onnx",
        requested_precision="fp16", integrated_gpu=True,
        profile={"image": {"min": [1, 3, 64, 64], "opt": [1, 3, 64, 64], "max": [4, 3, 64, 64]}},
    )


def env(**kw) -> RuntimeEnv:
    base = dict(tensorrt_version="10.3.0", cuda_version="12.6", gpu_name="Orin",
                compute_capability=(8, 7), integrated_gpu=True, dla_cores=0)
    return RuntimeEnv(**{**base, **kw})


def test_header_and_plan_round_trip(tmp_path, header):
    path = write_engine(tmp_path / "m.engine", header, PLAN)
    assert path.read_bytes().startswith(MAGIC)
    got, plan = read_engine(path)
    assert plan == PLAN
    assert got == replace(header, plan_bytes=len(PLAN))
    assert got.artifact.model_cfg == get_preset("moadepth-tiny")
    assert got.compute_capability == (8, 7)


def test_raw_engine_is_the_bare_plan_with_a_sidecar(tmp_path, header):
    path = write_engine(tmp_path / "m.engine", header, PLAN, raw=True)
    assert path.read_bytes() == PLAN  # what trtexec --loadEngine reads
    sidecar = tmp_path / "m.engine.json"
    assert json.loads(sidecar.read_text())["onnx_sha256"] == header.onnx_sha256
    got, plan = read_engine(path)
    assert plan == PLAN and got.onnx_name == "tiny.onnx"


def test_a_plain_plan_without_sidecar_is_refused(tmp_path):
    path = tmp_path / "other.plan"
    path.write_bytes(PLAN)
    with pytest.raises(UserError, match="no moadepth header"):
        read_engine(path)


@pytest.mark.parametrize("cut", [10, 20, -10])
def test_truncated_files_are_refused(tmp_path, header, cut):
    path = write_engine(tmp_path / "m.engine", header, PLAN)
    data = path.read_bytes()
    path.write_bytes(data[:cut])
    with pytest.raises(UserError, match="truncated|unreadable"):
        read_engine(path)


def test_a_corrupt_header_is_refused(tmp_path, header):
    path = write_engine(tmp_path / "m.engine", header, PLAN, raw=True)
    (tmp_path / "m.engine.json").write_text("{not json")
    with pytest.raises(UserError, match="unreadable engine header"):
        read_engine(path)


def test_missing_engine(tmp_path):
    with pytest.raises(UserError, match="engine not found"):
        read_engine(tmp_path / "nope.engine")


# -- compatibility -----------------------------------------------------------------------------

def test_same_machine_is_compatible_without_warnings(header):
    assert check_compatible(header, env(), "m.engine") == []
    assert check_compatible(header, env(tensorrt_version="10.3.0.26"), "m.engine") == []


def test_another_tensorrt_version_is_refused_with_the_rebuild_command(header):
    with pytest.raises(IncompatibleEngine) as err:
        check_compatible(header, env(tensorrt_version="10.7.0"), "m.engine")
    msg = str(err.value)
    assert "\n" not in msg
    assert "TensorRT 10.3.0" in msg and "TensorRT 10.7.0" in msg
    assert "`moadepth-edge build tiny.onnx --precision fp16 --out m.engine`" in msg


def test_version_compatible_engines_run_on_newer_tensorrt_only(header):
    vc = replace(header, version_compatible=True)
    assert check_compatible(vc, env(tensorrt_version="10.7.0"), "m.engine") == []
    assert check_compatible(vc, env(tensorrt_version="11.4.0.106"), "m.engine") == []
    with pytest.raises(IncompatibleEngine, match="same or a newer TensorRT"):
        check_compatible(vc, env(tensorrt_version="10.2.0"), "m.engine")


def test_another_compute_capability_is_refused(header):
    with pytest.raises(IncompatibleEngine, match="compute capability differs"):
        check_compatible(header, env(gpu_name="NVIDIA GeForce RTX 4090", compute_capability=(8, 9)), "m.engine")


def test_same_compute_capability_other_gpu_only_warns(header):
    (warning,) = check_compatible(header, env(gpu_name="Jetson Orin NX"), "m.engine")
    assert "Orin" in warning and "Jetson Orin NX" in warning


def test_cuda_major_mismatch_only_warns(header):
    (warning,) = check_compatible(header, env(cuda_version="13.0"), "m.engine")
    assert "CUDA 12.6" in warning


def test_hardware_compatible_engines_need_a_discrete_ampere_or_newer_gpu(header):
    hc = replace(header, hardware_compat="ampere_plus", gpu_name="RTX 3090", compute_capability=(8, 6),
                 integrated_gpu=False)
    assert check_compatible(hc, env(gpu_name="H100", compute_capability=(9, 0), integrated_gpu=False),
                            "m.engine")  # runs, with a different-GPU warning
    with pytest.raises(IncompatibleEngine, match="Ampere or newer"):
        check_compatible(hc, env(gpu_name="T4", compute_capability=(7, 5), integrated_gpu=False), "m.engine")
    with pytest.raises(IncompatibleEngine, match="not supported on Jetson"):
        check_compatible(hc, env(), "m.engine")


def test_a_dla_engine_needs_its_core_and_the_hint_drops_it(header):
    dla = replace(header, dla_core=1)
    assert check_compatible(dla, env(dla_cores=2), "m.engine") == []
    with pytest.raises(IncompatibleEngine) as err:
        check_compatible(dla, env(dla_cores=0), "m.engine")
    assert "DLA core 1" in str(err.value) and "--dla-core" not in str(err.value)
