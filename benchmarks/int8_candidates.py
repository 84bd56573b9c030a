"""Each way tried to make the CPU INT8 model faster, measured on its own against FP32.

    python benchmarks/export_latency.py --threads 2 --keep /tmp/el     # writes fused_fp32.onnx
    python benchmarks/int8_candidates.py /tmp/el --threads 2 --runs 30

Every candidate is built from the same fused FP32 file and differs from the baseline - the
static uint8 Q/DQ file (`--int8-activations asymmetric`: per-channel int8 weights, percentile
calibration, the ViT-safe node policy of export/quantize.py) - in one thing, except the last
rows, which combine what paid. All files then run interleaved, call by call, with the FP32
file (bench.measure.time_interleaved, spinning workers off) and the table gives the median ms,
FP32 / candidate, and the nodes ONNX Runtime runs after its own fusions. Files are kept in
FOLDER/candidates and reused. A benchmark, not a test: quote it with the command and the load.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

FP32 = "fp32 (fused export)"


def _static(src: Path, dst: Path, batches: list[np.ndarray], nodes: list[str] | None = None,
            ops: tuple[str, ...] = ("MatMul", "Gemm"), per_channel: bool = True, **extra) -> None:
    """The baseline's quantize_static call (export/quantize.py, asymmetric), with changes."""
    import onnx
    from onnxruntime import quantization as q

    from moadepth_edge.export.quantize import _Batches, int8_node_names, quiet

    proto = onnx.load(str(src))
    options = {"ActivationSymmetric": False, "WeightSymmetric": True, "QDQOpTypePerChannelSupportToAxis":
               {"MatMul": 1, "Conv": 0}, "MatMulConstBOnly": True, "QuantizeBias": True, "CalibPercentile": 99.999}
    with quiet():
        q.quantize_static(str(src), str(dst), _Batches(proto.graph.input[0].name, batches),
                          quant_format=q.QuantFormat.QDQ, op_types_to_quantize=list(ops),
                          nodes_to_quantize=int8_node_names(proto) if nodes is None else nodes,
                          per_channel=per_channel, reduce_range=False, activation_type=q.QuantType.QUInt8,
                          weight_type=q.QuantType.QInt8, calibrate_method=q.CalibrationMethod.Percentile,
                          extra_options={**options, **extra})


def _dynamic(src: Path, dst: Path, per_channel: bool, uint8_weights: bool = False) -> None:
    """quantize_cpu's quantize_dynamic call (7-bit weights), on `src`; `uint8_weights`: 8-bit
    uint8 weights instead (ORT's U8U8 kernel: no int16 saturation, no 7-bit limit)."""
    import onnx
    from onnxruntime import quantization as q

    from moadepth_edge.export.quantize import int8_node_names, quiet

    proto = onnx.load(str(src), load_external_data=False)
    nodes = int8_node_names(proto) + [n.name for n in proto.graph.node if n.op_type == "Attention"]
    with quiet():
        q.quantize_dynamic(str(src), str(dst), op_types_to_quantize=["MatMul", "Attention"],
                           per_channel=per_channel, reduce_range=not uint8_weights, nodes_to_quantize=nodes,
                           weight_type=q.QuantType.QUInt8 if uint8_weights else q.QuantType.QInt8,
                           extra_options={"MatMulConstBOnly": True})


def _multi_head(src: Path, dst: Path) -> None:
    """The CPU graph with each Attention node as MatMul(W_in) -> Split -> MultiHeadAttention(+ b_in),
    then quantize_cpu's quantize_dynamic call (the in-projection a DynamicQuantizeMatMul)."""
    import onnx
    from onnx import helper, numpy_helper

    proto = onnx.load(str(src))
    nodes = []
    for n in proto.graph.node:
        if n.op_type != "Attention":
            nodes.append(n)
            continue
        p, d = n.name.rsplit("/", 1)[0], next(i for i in proto.graph.initializer if i.name == n.input[1]).dims[0]
        proto.graph.initializer.append(numpy_helper.from_array(np.array([d, d, d], np.int64), f"{p}/split"))
        heads = next(a.i for a in n.attribute if a.name == "num_heads")
        nodes += [helper.make_node("MatMul", n.input[:2], [f"{p}/qkv"], f"{p}/in_proj/MatMul"),
                  helper.make_node("Split", [f"{p}/qkv", f"{p}/split"], [f"{p}/q", f"{p}/k", f"{p}/v"], f"{p}/Split",
                                   axis=-1),
                  helper.make_node("MultiHeadAttention", [f"{p}/q", f"{p}/k", f"{p}/v", n.input[2]], list(n.output),
                                   f"{p}/MultiHeadAttention", domain="com.microsoft", num_heads=heads)]
    del proto.graph.node[:]
    proto.graph.node.extend(nodes)
    with tempfile.TemporaryDirectory(dir=dst.parent) as tmp:
        onnx.save(proto, str(Path(tmp) / "mha.onnx"))
        _dynamic(Path(tmp) / "mha.onnx", dst, per_channel=True)


def _nbits(src: Path, dst: Path, bits: int) -> None:
    """The same Linear layers as com.microsoft.MatMulNBits: `bits`-bit weights in blocks of 32
    along K, activations quantized to int8 inside the kernel (accuracy_level 4)."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import (DefaultWeightOnlyQuantConfig,
                                                                 MatMulNBitsQuantizer)

    from moadepth_edge.export.quantize import int8_node_names, quiet

    proto = onnx.load(str(src))
    keep = set(int8_node_names(proto))
    config = DefaultWeightOnlyQuantConfig(block_size=32, is_symmetric=True, accuracy_level=4, bits=bits)
    config.nodes_to_exclude = [n.name for n in proto.graph.node if n.op_type == "MatMul" and n.name not in keep]
    with quiet():
        quantizer = MatMulNBitsQuantizer(proto, algo_config=config, nodes_to_exclude=config.nodes_to_exclude)
        quantizer.process()
        quantizer.model.save_model_to_file(str(dst), False)


def _transformer_optimized(src: Path, dst: Path) -> None:
    """ONNX Runtime's transformer optimizer (model type "vit": Attention, SkipLayerNorm, Gelu
    fusions), then quantize_cpu's quantize_dynamic call."""
    import onnx
    from onnxruntime.transformers import optimizer

    from moadepth_edge.export.cpu_graph import use_contrib_ops
    from moadepth_edge.export.quantize import quiet

    with quiet():
        model = optimizer.optimize_model(str(src), model_type="vit", num_heads=12, hidden_size=768,
                                         opt_level=0, use_gpu=False)
    print(f"transformer optimizer fusions: { {k: v for k, v in model.get_fused_operator_statistics().items() if v} }",
          file=sys.stderr)
    use_contrib_ops(model.model)  # its QuickGelu is a com.microsoft op, not imported by the optimizer
    with tempfile.TemporaryDirectory(dir=dst.parent) as tmp:
        fused = Path(tmp) / "fused.onnx"
        onnx.save(model.model, str(fused))
        _dynamic(fused, dst, per_channel=True)


def _nodes_plus(src: Path, pick: Callable) -> list[str]:
    """The baseline's nodes plus those `pick(node, constants, producer)` selects."""
    import onnx

    from moadepth_edge.export.graph import constant_names
    from moadepth_edge.export.quantize import int8_node_names

    proto = onnx.load(str(src), load_external_data=False)
    consts = constant_names(proto.graph)
    producer = {o: n for n in proto.graph.node for o in n.output}
    return int8_node_names(proto) + [n.name for n in proto.graph.node if pick(n, consts, producer)]


def _float_linear_scope(n, consts, _producer) -> bool:  # the head's and routers' Linear layers
    from moadepth_edge.export.graph import module_scope

    return (n.op_type in ("MatMul", "Gemm") and bool({"head", "router"} & set(module_scope(n)))
            and all(i in consts for i in n.input[1:]))


def _bias_add(n, consts, producer) -> bool:  # Add(constant, output of a quantized Linear)
    from moadepth_edge.export.graph import module_scope

    if n.op_type != "Add" or {"head", "router"} & set(module_scope(n)):
        return False
    ins = [producer.get(i) for i in n.input if i not in consts]
    return len(ins) == 1 and ins[0] is not None and ins[0].op_type == "MatMul" and \
        all(i in consts for i in ins[0].input[1:])


def candidates(fp32: Path, cpu_graph: Path, pre: Path, batches: list[np.ndarray]) -> dict[str, tuple[str, Callable]]:
    """file stem -> (what it changes, builder writing that candidate's file)."""
    from moadepth_edge.export.graph import module_scope

    def attention_products(n, consts, _producer) -> bool:
        return n.op_type == "MatMul" and "attn" in module_scope(n) and n.input[1] not in consts

    return {
        "static": ("baseline: static uint8 Q/DQ", lambda d: _static(fp32, d, batches)),
        "pre": ("+ ORT quantization pre-processing", lambda d: _static(pre, d, batches)),
        "attn": ("+ attention QK^T, AV as integer MatMuls", lambda d: _static(
            fp32, d, batches, _nodes_plus(fp32, attention_products), MatMulConstBOnly=False)),
        "conv": ("+ patch-embedding conv quantized", lambda d: _static(
            fp32, d, batches, _nodes_plus(fp32, lambda n, *_: n.op_type == "Conv"), ops=("MatMul", "Gemm", "Conv"))),
        "head": ("+ head and router linears quantized", lambda d: _static(
            fp32, d, batches, _nodes_plus(fp32, _float_linear_scope))),
        "qadd": ("+ bias adds quantized (QLinearAdd)", lambda d: _static(
            fp32, d, batches, _nodes_plus(fp32, _bias_add), ops=("MatMul", "Gemm", "Add"))),
        "noout": ("+ matmul outputs float (MatMulIntegerToFloat)", lambda d: _static(
            fp32, d, batches, OpTypesToExcludeOutputQuantization=["MatMul", "Gemm"])),
        "pt": ("+ per-tensor weights", lambda d: _static(fp32, d, batches, per_channel=False)),
        "dyn": ("+ dynamic activations (per-tensor weights)", lambda d: _dynamic(fp32, d, per_channel=False)),
        "cpug": ("+ CPU graph (its Attention node float)", lambda d: _static(cpu_graph, d, batches)),
        "cpug_dyn": ("CPU graph + dynamic, per-tensor weights", lambda d: _dynamic(cpu_graph, d, per_channel=False)),
        "cpug_dyn_pc": ("CPU graph + dynamic, per-channel (cpu-int8)", lambda d: _dynamic(cpu_graph, d, True)),
        "cpug_mha_dyn_pc": ("  same, MatMul+Split+MultiHeadAttention", lambda d: _multi_head(cpu_graph, d)),
        "cpug_dyn_u8": ("CPU graph + dynamic, uint8 8-bit weights (U8U8)", lambda d: _dynamic(
            cpu_graph, d, True, uint8_weights=True)),
        "cpug_nbits8": ("CPU graph + MatMulNBits 8-bit, int8 compute", lambda d: _nbits(cpu_graph, d, 8)),
        "cpug_nbits4": ("CPU graph + MatMulNBits 4-bit, int8 compute", lambda d: _nbits(cpu_graph, d, 4)),
        "tfopt_dyn": ("ORT transformer optimizer + dynamic, per-channel", lambda d: _transformer_optimized(fp32, d)),
    }


def prepare(folder: Path, calib: str) -> tuple[Path, Path, Path, list[np.ndarray]]:
    """(fp32, fp32 with the CPU graph, ORT-pre-processed fp32, calibration batches), built once."""
    import onnx
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from moadepth_edge.export.calibration import calibration_batches
    from moadepth_edge.export.quantize_cpu import rewrite_for_cpu
    from moadepth_edge.formats.artifact import read_artifact

    fp32 = folder / "fused_fp32.onnx"
    out = folder / "candidates"
    out.mkdir(exist_ok=True)
    batches = calibration_batches(calib, read_artifact(fp32), 8, 64)
    cpu_graph, pre = out / "fp32_cpu_graph.onnx", out / "fp32_preprocessed.onnx"
    if not cpu_graph.is_file():
        proto = onnx.load(str(fp32))
        print(f"CPU graph rewrites: {rewrite_for_cpu(proto)}", file=sys.stderr)
        onnx.save(proto, str(cpu_graph))
    if not pre.is_file():  # symbolic shape inference fails on this graph (Reshape of a computed rank)
        quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
    return fp32, cpu_graph, pre, batches


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="export_latency.py --keep folder (fused_fp32.onnx)")
    ap.add_argument("--calib", default="synthetic:16")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args(argv)

    from export_latency import interleaved_latency_ms, kernel_counts, ort_version, session

    fp32, cpu_graph, pre, batches = prepare(args.folder, args.calib)
    files = {FP32: fp32, "fp32 with the CPU graph (float)": cpu_graph}
    for stem, (name, build) in candidates(fp32, cpu_graph, pre, batches).items():
        path = args.folder / "candidates" / f"{stem}.onnx"
        if not path.is_file():
            print(f"building {path.name}: {name}", file=sys.stderr)
            build(path)
        files[name] = path
    sessions, nodes = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in files.items():
            sessions[name] = session(path, args.threads, Path(tmp) / f"{path.stem}.opt.onnx")
            nodes[name] = kernel_counts(Path(tmp) / f"{path.stem}.opt.onnx")["nodes"]
    x = np.random.default_rng(0).random(batches[0][:1].shape, dtype=np.float32)
    load = os.getloadavg()
    ms = interleaved_latency_ms(sessions, x, args.warmup, args.runs)
    base = ms["baseline: static uint8 Q/DQ"]
    print(f"\nINT8 candidates, ONNX Runtime {ort_version()} CPU, {args.threads} threads, spinning off, batch 1, "
          f"median of {args.runs} interleaved runs; load average {load[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"{'candidate':48s} {'ORT nodes':>9s} {'ms':>9s} {'fp32/this':>10s} {'baseline/this':>14s}")
    for name, t in ms.items():
        print(f"{name:48s} {nodes[name]:9d} {t:9.2f} {ms[FP32] / t:9.2f}x {base / t:13.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
