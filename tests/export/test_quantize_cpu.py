"""ONNX Runtime's CPU INT8 form (`int8_activations="dynamic"`, the cpu-int8 profile)."""
from __future__ import annotations

import collections

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxruntime.quantization")

from moadepth_edge.errors import UserError
from moadepth_edge.export import export_onnx
from moadepth_edge.export import quantize_cpu
from moadepth_edge.export.graph import module_scope
from moadepth_edge.export.tensorrt import inspect_onnx
from moadepth_edge.formats.artifact import read_artifact
from moadepth_edge.formats.profile import load_profile


@pytest.fixture(scope="module")
def cpu_int8(tiny_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("cpu-int8") / "m.onnx"
    artifact = export_onnx(tiny_model, path, precision="int8", calib="synthetic:4", int8_activations="dynamic")
    return path, artifact


def _ort_ops(path, tmp_path) -> collections.Counter:
    """Op types of the graph ONNX Runtime runs after its own fusions."""
    opts = ort.SessionOptions()
    opts.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    opts.log_severity_level = 3
    ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return collections.Counter(n.op_type for n in onnx.load(str(tmp_path / "optimized.onnx")).graph.node)


def test_cpu_form_runs_one_integer_kernel_per_linear_layer(cpu_int8, tmp_path):
    path, artifact = cpu_int8
    info = artifact.extra["int8"]
    assert info["method"] == "dynamic" and info["tensorrt"] is False
    assert info["cpu_graph"]["attention"] == 4 and info["cpu_graph"]["patch_embedding"] == 1
    assert info["cpu_graph"]["float_error"] < 1e-4
    ops = _ort_ops(path, tmp_path)
    # per block: out-proj, mlp fc, mlp proj; per MoA: fc1, fc2; CLIP's projection; patch embedding
    assert ops["DynamicQuantizeMatMul"] == 3 * 4 + 2 * 2 + 1 + 1
    assert ops["QAttention"] == 4  # per block, its qkv projection an integer GEMM
    assert info["quantized_nodes"] == ops["DynamicQuantizeMatMul"] + ops["QAttention"]
    assert not ops["Attention"] and not ops["MultiHeadAttention"]
    assert not ops["QuantizeLinear"] and not ops["DequantizeLinear"] and not ops["MatMulInteger"]


def test_head_and_routers_stay_float(cpu_int8):
    path, _ = cpu_int8
    proto = onnx.load(str(path))
    quantized = [n for n in proto.graph.node if n.op_type == "MatMulInteger"]
    assert quantized
    for n in quantized:
        assert not {"head", "router"} & set(module_scope(n)), n.name


def test_cpu_form_output_close_to_float(cpu_int8, tiny_model):
    path, artifact = cpu_int8
    assert artifact.precision == "int8" and artifact.extra["parity_error"] < 5e-2
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    h, w = artifact.preprocess.size
    x = np.random.default_rng(3).random((3, 3, h, w), dtype=np.float32)
    (got,) = sess.run(None, {artifact.input_name: x})
    with torch.no_grad():
        want = tiny_model(torch.from_numpy(x)).numpy()
    ratio = np.maximum(got / want, want / got)
    assert float(np.mean(ratio < 1.25)) > 0.99  # delta1 agreement with the float model


def test_tensorrt_builder_refuses_the_cpu_form(cpu_int8):
    path, _ = cpu_int8
    with pytest.raises(UserError, match="ONNX Runtime on a CPU.*--int8-activations symmetric"):
        inspect_onnx(path)


def test_a_rewrite_that_changes_the_function_is_dropped(tiny_onnx, tmp_path, monkeypatch):
    """A graph rewrite that computes something else (here: attention with the wrong number of
    heads) fails the float check, and the original graph is quantized instead."""
    real = quantize_cpu.fuse_attention

    def wrong_heads(proto, known=None):
        done = real(proto, known)
        for n in proto.graph.node:
            if n.op_type == "Attention":
                n.attribute[0].i = 1
        return done

    monkeypatch.setattr(quantize_cpu, "fuse_attention", wrong_heads)
    path, artifact = tiny_onnx, read_artifact(tiny_onnx)
    h, w = artifact.preprocess.size
    x = np.random.default_rng(4).random((1, 3, h, w), dtype=np.float32)
    proto, info = quantize_cpu.quantize_cpu(path, tmp_path / "q.onnx", [x])
    assert info["cpu_graph"]["attention"] == 0 and info["cpu_graph"]["float_error"] > 1e-4
    assert not any(n.op_type in ("Attention", "QAttention") for n in proto.graph.node)
    assert any(n.op_type == "MatMulInteger" for n in proto.graph.node)


def test_cpu_profile_uses_the_cpu_form():
    export = load_profile("cpu-int8").export
    assert export.precision == "int8" and export.int8_activations == "dynamic" and export.embed_preprocess


def test_unknown_activation_mode_refused_before_work(tmp_path):
    with pytest.raises(UserError, match="int8-activations must be one of symmetric, asymmetric, dynamic"):
        export_onnx("no-such-checkpoint", tmp_path / "m.onnx", precision="int8", calib="synthetic:2",
                    int8_activations="wide")


def test_weights_stay_in_seven_bits(cpu_int8):
    """AVX2 without VNNI sums u8 x s8 pairs in int16: 2 x 255 x 64 fits, 2 x 255 x 127 does not."""
    path, _ = cpu_int8
    proto = onnx.load(str(path))
    weights = [onnx.numpy_helper.to_array(i) for i in proto.graph.initializer if i.data_type == onnx.TensorProto.INT8]
    assert weights and all(w.min() >= -64 and w.max() <= 64 for w in weights)


def test_cpu_int8_profile_from_the_command_line(tiny_checkpoint, tmp_path, capsys):
    from moadepth_edge.cli.main import main
    from moadepth_edge.formats.artifact import read_artifact
    from moadepth_edge.runtime.backends.onnxruntime import OnnxRuntimeBackend

    assert main(["export", str(tiny_checkpoint), "--out", str(tmp_path), "--profile", "cpu-int8",
                 "--calib", "synthetic:2"]) == 0
    path = tmp_path / "tiny-int8.onnx"
    artifact = read_artifact(path)
    assert artifact.input_kind == "frame" and artifact.extra["int8"]["method"] == "dynamic"
    assert artifact.extra["int8"]["cpu_graph"]["attention"] == 4
    assert artifact.extra["int8"]["cpu_graph"]["patch_embedding"] == 1  # after the in-graph resize
    backend = OnnxRuntimeBackend.load(path, providers="cpu")
    frame = np.random.default_rng(5).integers(0, 256, (1, 120, 160, 3), dtype=np.uint8)
    assert backend.infer(frame).shape == (1, 1, 120, 160)
    capsys.readouterr()
    assert main(["export", str(tiny_checkpoint), "--out", str(tmp_path), "--profile", "cpu-int8",
                 "--calib", "synthetic:2", "--int8-activations", "wide"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "--int8-activations must be one of" in err and "\n" not in err
