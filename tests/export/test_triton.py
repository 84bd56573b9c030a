"""`--format triton`: a model repository Triton's onnxruntime / tensorrt_plan backends load."""
from __future__ import annotations

import json
import re


from moadepth_edge.formats.artifact import ModelArtifact, read_artifact
from moadepth_edge.config import get_preset
from moadepth_edge.export.triton import config_pbtxt, write_triton_repository


def _artifact(**kw) -> ModelArtifact:
    cfg = get_preset("moadepth-tiny")
    return ModelArtifact(model_cfg=cfg, **kw)


def test_onnx_repository_layout(tiny_onnx, tmp_path):
    path, artifact = tiny_onnx, read_artifact(tiny_onnx)
    folder = write_triton_repository(tmp_path / "repo", path, name="depth", max_batch_size=4)
    assert folder == tmp_path / "repo" / "depth"
    assert (folder / "1" / "model.onnx").read_bytes() == path.read_bytes()
    text = (folder / "config.pbtxt").read_text()
    assert 'name: "depth"' in text and 'backend: "onnxruntime"' in text
    assert "max_batch_size: 4" in text and "dynamic_batching" in text
    assert 'name: "image" data_type: TYPE_FP32 dims: [3, 64, 64]' in text
    assert 'name: "depth" data_type: TYPE_FP32 dims: [1, 64, 64]' in text
    meta = re.search(r'string_value: (".*") }', text).group(1)
    assert ModelArtifact.from_json(json.loads(meta)) == artifact


def test_frame_and_static_batch_configs():
    frame = config_pbtxt("m", _artifact(input_kind="frame", input_name="frame", dynamic_hw=True),
                         "onnxruntime", 8)
    assert 'name: "frame" data_type: TYPE_UINT8 dims: [-1, -1, 3]' in frame
    assert "dims: [1, -1, -1]" in frame
    static = config_pbtxt("m", _artifact(dynamic_batch=False), "onnxruntime", 8, gpu=False)
    assert "max_batch_size: 0" in static and "dims: [1, 3, 64, 64]" in static
    assert "dynamic_batching" not in static and "KIND_CPU" in static


def test_engine_becomes_a_bare_plan(tiny_onnx, tmp_path):
    from moadepth_edge.formats.engine_file import EngineHeader, write_engine

    path, artifact = tiny_onnx, read_artifact(tiny_onnx)
    header = EngineHeader(tensorrt_version="10.3.0", cuda_version="12.6", gpu_name="Orin",
                          compute_capability=(8, 7), precision="fp16", artifact=artifact,
                          onnx_sha256="0" * 64,
                          profile={"image": {"min": [1, 3, 64, 64], "opt": [1, 3, 64, 64],
                                             "max": [2, 3, 64, 64]}})
    engine = write_engine(tmp_path / "m.engine", header, b"PLAN-BYTES")
    folder = write_triton_repository(tmp_path / "repo", path, engine=engine)
    assert (folder / "1" / "model.plan").read_bytes() == b"PLAN-BYTES"
    assert not (folder / "1" / "model.onnx").exists()
    text = (folder / "config.pbtxt").read_text()
    assert 'platform: "tensorrt_plan"' in text and "max_batch_size: 2" in text
