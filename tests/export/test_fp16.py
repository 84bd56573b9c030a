"""FP16 export: matrix products in FP16; LayerNorm, Softmax and the depth head in FP32."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from moadepth_edge.export import export_onnx
from moadepth_edge.export.graph import module_scope

FLOAT, FLOAT16 = onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16


@pytest.fixture(scope="module")
def fp16_model(tiny_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("fp16") / "m.onnx"
    artifact = export_onnx(tiny_model, path, precision="fp16")
    proto = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    return proto, artifact


def _types(proto) -> dict[str, int]:
    types = {v.name: v.type.tensor_type.elem_type for v in
             list(proto.graph.value_info) + list(proto.graph.input) + list(proto.graph.output)}
    types.update({i.name: i.data_type for i in proto.graph.initializer})
    return types


def test_fragile_ops_and_head_stay_fp32(fp16_model):
    proto, artifact = fp16_model
    types = _types(proto)
    for node in proto.graph.node:
        if node.op_type in ("LayerNormalization", "Softmax") or "head" in module_scope(node):
            if node.op_type == "Cast":
                continue
            assert not any(types.get(i) == FLOAT16 for i in node.input), node.name
    assert artifact.precision == "fp16" and artifact.extra["parity_error"] < 2e-2


def test_encoder_products_are_fp16_and_io_stays_fp32(fp16_model):
    proto, _ = fp16_model
    types = _types(proto)
    weights = [n.input[1] for n in proto.graph.node
               if n.op_type in ("MatMul", "Gemm") and "resblocks" in "/".join(module_scope(n))]
    assert weights and all(types.get(w) == FLOAT16 for w in weights)
    assert proto.graph.input[0].type.tensor_type.elem_type == FLOAT
    assert proto.graph.output[0].type.tensor_type.elem_type == FLOAT
