"""INT8 for ONNX Runtime on a CPU (`int8_activations="dynamic"`, the `cpu-int8` profile).

Two steps, each measured against the static uint8 Q/DQ file (README, export; table in
benchmarks/cpu-amd-epyc/int8_candidates.txt):
1. The CPU graph (cpu_attention.py, cpu_graph.py): attention as one com.microsoft.Attention
   node per block, Gemm as MatMul + Add, the patch-embedding convolution as one MatMul. The
   rewritten float graph is run against the original on the check images; if it differs by
   more than float rounding the original graph is kept (and the info says so).
2. Dynamic quantization of the same Linear layers as the TensorRT policy (quantize.py), plus
   the patch embedding and the attention projections: int8 weights (symmetric, per output
   channel), uint8 activations whose range ONNX Runtime takes from each input as it runs.
   ORT fuses each into one DynamicQuantizeMatMul (range, quantize, integer GEMM, scale and
   bias in one kernel), each attention block into one QAttention (its input projection an
   integer GEMM) - no Quantize/Dequantize pairs, nothing to calibrate. Weights use 7 of
   the 8 bits (reduce_range): x86 CPUs without VNNI (AVX2, e.g. AMD Zen 3) multiply uint8 x
   int8 pairs into a saturating int16 sum: 2 x 255 x 64 fits, 2 x 255 x 127 does not
   (measured on the trained demo model: delta1 agreement with FP32 0.89 with 8-bit weights,
   1.00 with 7-bit ones).
The result is for ONNX Runtime only: TensorRT takes the symmetric Q/DQ file.
"""
from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._lazy import lazy_import
from ..errors import UserError
from . import cpu_graph
from .cpu_attention import fuse_attention
from .parity import TOLERANCE, relative_error
from .quantize import int8_node_names, quiet


def rewrite_for_cpu(proto: Any) -> dict[str, int]:
    """Apply the CPU graph rewrites to `proto` in place; how many of each were made."""
    known = cpu_graph.shapes(proto)  # once, before any com.microsoft node (ONNX cannot infer past one)
    return {
        "attention": fuse_attention(proto, known),
        "gemm": cpu_graph.gemm_to_matmul(proto),
        "patch_embedding": cpu_graph.patchify_conv(proto, known),
    }


def float_difference(reference: Path, candidate: Path, inputs: Sequence[np.ndarray]) -> float:
    """Worst relative error of the ONNX file `candidate` against `reference` on `inputs`."""
    ort = lazy_import("onnxruntime")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = min(2, os.cpu_count() or 1)
    sessions = [ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"]) for p in (reference, candidate)]
    worst = 0.0
    for x in inputs:
        ref, got = (s.run(None, {s.get_inputs()[0].name: x})[0] for s in sessions)
        worst = max(worst, relative_error(got, ref))
    return worst


def quantize_cpu(fp32_path: Path, out_path: Path, check_inputs: Sequence[np.ndarray], *,
                 per_channel: bool = True) -> tuple[Any, dict[str, Any]]:
    """The float ONNX file at `fp32_path` as ONNX Runtime's CPU INT8 model at `out_path`.

    `check_inputs`: model inputs the rewritten float graph is checked on. Returns
    (ModelProto, info for the artifact's extra).
    """
    onnx = lazy_import("onnx")
    q = lazy_import("onnxruntime.quantization")
    if not check_inputs:
        raise UserError("the CPU INT8 export needs images to check its graph rewrites on (--calib)")
    original = onnx.load(str(fp32_path))
    proto = copy.deepcopy(original)
    rewrites = rewrite_for_cpu(proto)
    with tempfile.TemporaryDirectory(prefix=".cpu-int8-", dir=out_path.parent) as tmp:
        graph_path = Path(tmp) / "cpu-graph.onnx"
        onnx.save(proto, str(graph_path))
        rewrite_error = float_difference(fp32_path, graph_path, check_inputs[:1]) if any(rewrites.values()) else 0.0
        if rewrite_error > TOLERANCE["fp32"]:  # a pattern matched that computes something else
            graph_path, proto = fp32_path, original
            rewrites = {k: 0 for k in rewrites}
        nodes = int8_node_names(proto)
        if not nodes:
            raise UserError("the model has no Linear layers to quantize")
        nodes += [n.name for n in proto.graph.node if n.op_type == "Attention"]  # -> QAttention
        with quiet():
            q.quantize_dynamic(
                str(graph_path), str(out_path),
                op_types_to_quantize=["MatMul", "Attention"], nodes_to_quantize=nodes,
                per_channel=per_channel, reduce_range=True, weight_type=q.QuantType.QInt8,
                extra_options={"MatMulConstBOnly": True},
            )
    info = {
        "method": "dynamic",
        "activations": "uint8 dynamic (range of each input, per inference)",
        "weights": f"int8 in -64..64 (7 bits), symmetric {'per-channel' if per_channel else 'per-tensor'}",
        "quantized_nodes": len(nodes),
        "cpu_graph": {**rewrites, "float_error": rewrite_error},
        "tensorrt": False,
    }
    return onnx.load(str(out_path)), info
