"""The one ModelArtifact reader: the metadata of an ONNX file without parsing its graph."""
from __future__ import annotations

import os

import pytest

from moadepth_edge.errors import UserError
from moadepth_edge.formats.artifact import ModelArtifact, read_artifact, read_onnx_metadata


def test_reads_the_same_metadata_as_onnx_itself(tiny_onnx):
    onnx = pytest.importorskip("onnx")
    path = tiny_onnx
    proto = onnx.load(str(path))
    assert read_onnx_metadata(path) == {p.key: p.value for p in proto.metadata_props}
    art = read_artifact(path)
    assert art == ModelArtifact.from_metadata_props({p.key: p.value for p in proto.metadata_props})
    assert art.input_shape() == (None, 3, 64, 64)


def test_refuses_what_is_not_an_exported_model(tiny_onnx, tiny_checkpoint, tmp_path):
    data = tiny_onnx.read_bytes()
    cases = {"empty.onnx": b"", "random.onnx": os.urandom(4096), "text.onnx": b"not a model\n",
             "truncated.onnx": data[: len(data) // 2]}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(UserError, match="empty|not a readable ONNX model"):
            read_artifact(tmp_path / name)
    with pytest.raises(UserError, match="not found"):
        read_artifact(tmp_path / "missing.onnx")


def test_graph_and_metadata_must_agree(tiny_onnx):
    art = read_artifact(tiny_onnx)
    art.check_graph_input(("batch", 3, 64, 64), "m.onnx")
    with pytest.raises(UserError, match="graph takes .*metadata says"):
        art.check_graph_input(("batch", 3, 128, 128), "m.onnx")
