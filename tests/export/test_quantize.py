"""INT8 Q/DQ export: the ViT-safe policy, TensorRT-friendly quantization, calibration input."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime.quantization")

from moadepth_edge.errors import UserError
from moadepth_edge.export import export_onnx
from moadepth_edge.export.calibration import calibration_frames
from moadepth_edge.export.graph import module_scope


@pytest.fixture(scope="module")
def int8_model(tiny_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("int8") / "m.onnx"
    artifact = export_onnx(tiny_model, path, precision="int8", calib="synthetic:4", calib_batch_size=2)
    return onnx.load(str(path)), artifact


def _int8_weighted(proto) -> set[str]:
    """Names of nodes fed a dequantized int8 weight (a DequantizeLinear of an initializer)."""
    inits = {i.name for i in proto.graph.initializer}
    dq_w = {n.output[0] for n in proto.graph.node if n.op_type == "DequantizeLinear" and n.input[0] in inits}
    return {n.name for n in proto.graph.node if set(n.input) & dq_w}


def test_only_linear_layers_are_quantized(int8_model):
    proto, artifact = int8_model
    quantized = [n for n in proto.graph.node if n.name in _int8_weighted(proto)]
    assert quantized and {n.op_type for n in quantized} <= {"MatMul", "Gemm"}
    for n in quantized:
        assert not {"head", "router"} & set(module_scope(n)), n.name
    ops = {n.op_type for n in proto.graph.node}
    assert {"LayerNormalization", "Softmax"} <= ops
    # per block: qkv, out-proj, mlp fc, mlp proj; per MoA: fc1, fc2; CLIP's output projection
    assert len(quantized) == artifact.extra["int8"]["quantized_nodes"] == 4 * 4 + 2 * 2 + 1


def test_weights_per_channel_and_activations_symmetric(int8_model):
    proto, _ = int8_model
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in proto.graph.initializer}
    per_channel = 0
    for n in proto.graph.node:
        if n.op_type == "DequantizeLinear" and len(n.input) > 2 and n.input[2] in inits:
            zero = inits[n.input[2]]
            assert zero.dtype == np.int8 and not zero.any()  # TensorRT: symmetric int8
            per_channel += inits[n.input[1]].size > 1
    assert per_channel >= 20


def test_int8_output_close_to_float(int8_model):
    _, artifact = int8_model
    assert artifact.precision == "int8" and artifact.extra["parity_error"] < 5e-2
    assert artifact.extra["int8"]["images"] == 4


def test_calibration_folder_without_images(tmp_path):
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(UserError, match="no 8-bit colour images"):
        calibration_frames(str(tmp_path), 8)
    with pytest.raises(UserError, match="not found"):
        calibration_frames(str(tmp_path / "missing"), 8)
    with pytest.raises(UserError, match="frame count"):
        calibration_frames("synthetic:lots", 8)


def test_calibration_skips_depth_maps(tmp_path):
    cv2.imwrite(str(tmp_path / "rgb_0.png"), np.full((8, 8, 3), 100, np.uint8))
    cv2.imwrite(str(tmp_path / "depth_0.png"), np.full((8, 8), 3000, np.uint16))
    frames = calibration_frames(str(tmp_path), 8)
    assert len(frames) == 1 and frames[0].shape == (8, 8, 3)


def test_nyu_calibration_reads_the_rgb_frames(shared_data):
    frames = calibration_frames(f"nyu:{shared_data / 'nyu_samples'}", 8)
    assert len(frames) == 3 and all(f.shape == (480, 640, 3) for f in frames)


def test_tensorrt_style_file_keeps_biases_float(int8_model):
    proto, _ = int8_model
    inits = {i.name: i for i in proto.graph.initializer}
    dq_inputs = [inits[n.input[0]] for n in proto.graph.node
                 if n.op_type == "DequantizeLinear" and n.input[0] in inits]
    assert dq_inputs and all(t.data_type == onnx.TensorProto.INT8 for t in dq_inputs)


def test_cpu_style_file_uses_uint8_activations(tiny_model, tmp_path):
    path = tmp_path / "cpu.onnx"
    export_onnx(tiny_model, path, precision="int8", calib="synthetic:2", int8_activations="asymmetric")
    proto = onnx.load(str(path))
    q_types = {i.data_type for i in proto.graph.initializer
               if any(n.op_type == "QuantizeLinear" and n.input[2] == i.name for n in proto.graph.node)}
    assert q_types == {onnx.TensorProto.UINT8}


def test_tensorrt_form_is_exactly_the_documented_quantize_static_call(tiny_onnx, tmp_path):
    """The symmetric Q/DQ file TensorRT consumes is ONNX Runtime's quantize_static with these
    options and nothing else: byte for byte, and its metadata keys are the ones it always had
    (the CPU INT8 work must not change it)."""
    from onnxruntime import quantization as q

    from moadepth_edge.export.calibration import calibration_batches
    from moadepth_edge.export.quantize import int8_node_names, quantize_int8
    from moadepth_edge.formats.artifact import read_artifact

    batches = calibration_batches("synthetic:2", read_artifact(tiny_onnx), 2, 2)
    float_proto = onnx.load(str(tiny_onnx))
    name = float_proto.graph.input[0].name
    _, info = quantize_int8(tiny_onnx, tmp_path / "ours.onnx", batches, method="percentile")

    class Reader(q.CalibrationDataReader):
        def __init__(self):
            self.it = iter(batches)

        def get_next(self):
            b = next(self.it, None)
            return None if b is None else {name: b}

    q.quantize_static(
        str(tiny_onnx), str(tmp_path / "reference.onnx"), Reader(), quant_format=q.QuantFormat.QDQ,
        op_types_to_quantize=["MatMul", "Gemm"], nodes_to_quantize=int8_node_names(float_proto),
        per_channel=True, reduce_range=False, activation_type=q.QuantType.QInt8, weight_type=q.QuantType.QInt8,
        calibrate_method=q.CalibrationMethod.Percentile,
        extra_options={"ActivationSymmetric": True, "WeightSymmetric": True, "MatMulConstBOnly": True,
                       "QDQOpTypePerChannelSupportToAxis": {"MatMul": 1}, "QuantizeBias": False,
                       "CalibPercentile": 99.999})
    assert (tmp_path / "ours.onnx").read_bytes() == (tmp_path / "reference.onnx").read_bytes()
    assert set(info) == {"method", "activations", "weights", "quantized_nodes"}
    assert info["activations"] == "int8 symmetric"
