"""INT8 Q/DQ ONNX by static calibration, with a ViT-safe policy.

Quantized: the matrix products of Linear layers (MatMul / Gemm with a constant weight) in the
ViT blocks, the MoA experts and CLIP's output projection - weights per output channel,
symmetric int8. Kept in float:
LayerNorm, Softmax, the attention's activation x activation products, residual additions,
the patch embedding, the MoA routers and the depth head. The Q/DQ file is what TensorRT's
explicit quantization consumes: symmetric int8 activations (zero point 0) and float biases
are the default for that reason. "asymmetric" (uint8 activations, int32 biases) is a portable
Q/DQ file for ONNX Runtime on x86 CPUs, whose fast int8 kernels are U8S8 (unsigned x signed);
with int8 activations ORT fuses fewer Q/DQ patterns and runs no faster than FP32. "dynamic"
is ONNX Runtime's CPU form (quantize_cpu.py: its own graph, ranges taken per inference).
"""
from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np

from .._lazy import lazy_import
from ..errors import UserError
from .graph import constant_names, module_scope

METHODS = ("minmax", "percentile", "entropy")
FLOAT_SCOPES = ("head", "router")  # small, and where 8-bit error would move the output most
LINEAR_OPS = ("MatMul", "Gemm")
ACTIVATIONS = ("symmetric", "asymmetric", "dynamic")


def int8_node_names(proto: Any) -> list[str]:
    """Names of the nodes the policy quantizes: Linear-layer MatMul/Gemm (constant weight and
    bias) outside the FLOAT_SCOPES modules."""
    constants = constant_names(proto.graph)
    return [
        n.name for n in proto.graph.node
        if n.op_type in LINEAR_OPS and all(i in constants for i in n.input[1:])
        and not set(module_scope(n)) & set(FLOAT_SCOPES)
    ]


class _Batches:
    """onnxruntime.quantization CalibrationDataReader over prepared input batches."""

    def __init__(self, input_name: str, batches: Sequence[np.ndarray]) -> None:
        self.input_name, self.batches = input_name, list(batches)
        self._it = iter(self.batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._it, None)
        return None if batch is None else {self.input_name: batch}

    def rewind(self) -> None:
        self._it = iter(self.batches)


def quantize_int8(
    fp32_path: Path,
    out_path: Path,
    batches: Sequence[np.ndarray],
    *,
    method: str = "minmax",
    activations: Literal["symmetric", "asymmetric", "dynamic"] = "symmetric",
    percentile: float = 99.999,
) -> tuple[Any, dict[str, Any]]:
    """Quantize the FP32 ONNX file at `fp32_path` to Q/DQ at `out_path` (or, for "dynamic"
    activations, to ONNX Runtime's CPU form: quantize_cpu.py, `batches` only check it).

    Returns (ModelProto, info for the artifact's extra). method: minmax, percentile or entropy.
    """
    onnx = lazy_import("onnx")
    q = lazy_import("onnxruntime.quantization")
    if method not in METHODS:
        raise UserError(f"unknown calibration method {method!r} ({', '.join(METHODS)})")
    if activations not in ACTIVATIONS:
        raise UserError(f"int8 activations must be {', '.join(ACTIVATIONS)}; got {activations!r}")
    if activations == "dynamic":
        from .quantize_cpu import quantize_cpu

        return quantize_cpu(fp32_path, out_path, batches)
    proto = onnx.load(str(fp32_path))
    nodes = int8_node_names(proto)
    if not nodes:
        raise UserError("the model has no Linear layers to quantize")
    symmetric = activations == "symmetric"
    reader = _Batches(proto.graph.input[0].name, batches)
    calib = {"minmax": q.CalibrationMethod.MinMax, "percentile": q.CalibrationMethod.Percentile,
             "entropy": q.CalibrationMethod.Entropy}[method]
    extra = {
        "ActivationSymmetric": symmetric,
        "WeightSymmetric": True,
        "QDQOpTypePerChannelSupportToAxis": {"MatMul": 1},
        "MatMulConstBOnly": True,
        # TensorRT's Q/DQ layers take int8 (not int32): biases stay float for it; ORT's CPU
        # QGemm takes an int32 bias
        "QuantizeBias": not symmetric,
    }
    if method == "percentile":
        extra["CalibPercentile"] = percentile
    with quiet():  # "consider pre-processing" advice, calibration progress prints
        q.quantize_static(
            str(fp32_path), str(out_path), reader,
            quant_format=q.QuantFormat.QDQ,
            op_types_to_quantize=list(LINEAR_OPS),
            nodes_to_quantize=nodes,
            per_channel=True,
            reduce_range=False,
            activation_type=q.QuantType.QInt8 if symmetric else q.QuantType.QUInt8,
            weight_type=q.QuantType.QInt8,
            calibrate_method=calib,
            extra_options=extra,
        )
    info = {"method": method, "activations": "int8 symmetric" if symmetric else "uint8 asymmetric",
            "weights": "int8 symmetric per-channel", "quantized_nodes": len(nodes)}
    if not symmetric:  # only the other forms are marked: the TensorRT file's metadata stays as it was
        info["tensorrt"] = False
    return onnx.load(str(out_path)), info


@contextlib.contextmanager
def quiet():
    """ONNX Runtime's quantizer without its log advice and progress prints."""
    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:  # the histogram calibrators print their progress
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
            yield
    finally:
        logger.setLevel(level)
