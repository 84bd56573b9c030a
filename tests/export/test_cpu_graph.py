"""The CPU graph rewrites: same function, fewer nodes; patterns they must leave alone."""
from __future__ import annotations

import collections

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from moadepth_edge.export.cpu_attention import fuse_attention
from moadepth_edge.export.cpu_graph import gemm_to_matmul, patchify_conv, prune
from moadepth_edge.export.parity import relative_error
from moadepth_edge.export.trace import tracing
from moadepth_edge.formats.artifact import read_artifact


def _run(proto, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def _ops(proto) -> collections.Counter:
    return collections.Counter(n.op_type for n in proto.graph.node)


def _export(module, x, tmp_path, batch_axis=0):
    path = tmp_path / "m.onnx"
    with tracing():
        torch.onnx.export(module.eval(), (torch.from_numpy(x),), str(path), dynamo=False, opset_version=17,
                          input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {batch_axis: "b"}, "y": {batch_axis: "b"}})
    return onnx.load(str(path))


class _SelfAttention(torch.nn.Module):
    def __init__(self, batch_first: bool, mask: bool = False, heads: int = 4) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.mha = torch.nn.MultiheadAttention(32, heads, batch_first=batch_first)
        with torch.no_grad():
            for p in self.mha.parameters():
                p.normal_(0, 0.3)  # non-zero biases: a dropped bias would show
        self.mask = torch.triu(torch.full((6, 6), float("-inf")), 1) if mask else None

    def forward(self, x):
        return self.mha(x, x, x, need_weights=False, attn_mask=self.mask)[0] + x


@pytest.mark.parametrize("batch_first", [True, False])
def test_attention_becomes_one_node_with_the_same_output(tmp_path, batch_first):
    x = np.random.default_rng(0).standard_normal((2, 6, 32) if batch_first else (6, 2, 32)).astype(np.float32)
    proto = _export(_SelfAttention(batch_first), x, tmp_path, batch_axis=0 if batch_first else 1)
    want = _run(proto, x)
    assert fuse_attention(proto) == 1
    ops = _ops(proto)
    assert ops["Attention"] == 1 and ops["Softmax"] == 0 and ops["MatMul"] == 1  # + the output projection
    assert sum(ops.values()) <= 8  # from ~60
    onnx.checker.check_model(proto)
    assert relative_error(_run(proto, x), want) < 1e-5
    assert relative_error(_run(proto, np.concatenate([x, x], axis=0 if batch_first else 1)),
                          np.concatenate([want, want], axis=0 if batch_first else 1)) < 1e-5


def test_masked_attention_is_left_alone(tmp_path):
    x = np.random.default_rng(0).standard_normal((2, 6, 32)).astype(np.float32)
    proto = _export(_SelfAttention(True, mask=True), x, tmp_path)
    before = proto.SerializeToString()
    assert fuse_attention(proto) == 0
    assert proto.SerializeToString() == before


def test_tiny_model_attention_and_patch_embedding(tiny_onnx):
    path, artifact = tiny_onnx, read_artifact(tiny_onnx)
    proto = onnx.load(str(path))
    h, w = artifact.preprocess.size
    x = np.random.default_rng(1).random((2, 3, h, w), dtype=np.float32)
    want = _run(proto, x)
    softmax = _ops(proto)["Softmax"]
    assert fuse_attention(proto) == 4  # every block of the tiny tower
    assert patchify_conv(proto) == 1
    ops = _ops(proto)
    assert ops["Attention"] == 4 and ops["Softmax"] == softmax - 4 and ops["Conv"] == 0
    assert relative_error(_run(proto, x), want) < 1e-5


def test_simplified_graph_is_matched_by_structure(tiny_onnx):
    """The ONNX optimizer (`--simplify`) renames nodes; blocks are still found."""
    optimizer = pytest.importorskip("onnxscript.optimizer")
    path, artifact = tiny_onnx, read_artifact(tiny_onnx)
    proto = optimizer.optimize(onnx.load(str(path)))
    h, w = artifact.preprocess.size
    x = np.random.default_rng(2).random((1, 3, h, w), dtype=np.float32)
    want = _run(proto, x)
    assert fuse_attention(proto) == 4
    assert relative_error(_run(proto, x), want) < 1e-5


def _graph(nodes, inits, x_shape, out="y"):
    h = onnx.helper
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, x_shape)],
                     [h.make_tensor_value_info(out, onnx.TensorProto.FLOAT, None)],
                     [onnx.numpy_helper.from_array(v, k) for k, v in inits.items()])
    return h.make_model(g, opset_imports=[h.make_opsetid("", 17)], ir_version=8)


def test_gemm_becomes_matmul_plus_bias():
    rng = np.random.default_rng(0)
    inits = {"w": rng.standard_normal((5, 4)).astype(np.float32), "b": rng.standard_normal(5).astype(np.float32),
             "w2": rng.standard_normal((5, 3)).astype(np.float32)}
    h = onnx.helper
    nodes = [h.make_node("Gemm", ["x", "w", "b"], ["t"], "g1", transB=1),
             h.make_node("Gemm", ["t", "w2"], ["y"], "g2", alpha=0.5)]  # alpha != 1: left alone
    proto = _graph(nodes, inits, [None, 4])
    x = rng.standard_normal((3, 4)).astype(np.float32)
    want = _run(proto, x)
    assert gemm_to_matmul(proto) == 1
    assert [n.op_type for n in proto.graph.node] == ["MatMul", "Add", "Gemm"]
    assert relative_error(_run(proto, x), want) < 1e-6


@pytest.mark.parametrize("stride, pads, ok", [(4, [0, 0, 0, 0], True), (2, [0, 0, 0, 0], False), (4, [1, 1, 1, 1], False)])
def test_patchify_only_non_overlapping_unpadded_convolutions(stride, pads, ok):
    rng = np.random.default_rng(0)
    inits = {"w": rng.standard_normal((6, 3, 4, 4)).astype(np.float32), "b": rng.standard_normal(6).astype(np.float32)}
    conv = onnx.helper.make_node("Conv", ["x", "w", "b"], ["y"], "conv", kernel_shape=[4, 4],
                                 strides=[stride, stride], pads=pads)
    proto = _graph([conv], inits, ["n", 3, 8, 12])
    x = rng.standard_normal((2, 3, 8, 12)).astype(np.float32)
    want = _run(proto, x)
    assert patchify_conv(proto) == int(ok)
    assert ("Conv" in _ops(proto)) != ok
    assert relative_error(_run(proto, x), want) < 1e-5


def test_prune_drops_unread_nodes_and_weights():
    h = onnx.helper
    inits = {"w": np.ones((2, 2), np.float32), "unused": np.ones(3, np.float32)}
    nodes = [h.make_node("MatMul", ["x", "w"], ["y"], "mm"), h.make_node("Relu", ["x"], ["dead"], "dead")]
    proto = _graph(nodes, inits, [1, 2])
    prune(proto)
    assert [n.name for n in proto.graph.node] == ["mm"]
    assert [i.name for i in proto.graph.initializer] == ["w"]
