"""How much faster this CPU's integer GEMMs are than its float ones, on the model's own shapes.

    python benchmarks/int8_gemm_ceiling.py --threads 2 --runs 30

A chain of MatMuls of the ViT-B/32 blocks' sizes (per block: 768x2304, 2304x768, 768x3072,
3072x768 on 50 tokens - the attention output projection made 2304 wide so that the products
chain; random weights, 99 M of them for 12 blocks, so they stream from memory as the model's
do) in FP32 and as ONNX Runtime's DynamicQuantizeMatMul (quantize_cpu's
settings: 7-bit int8 weights, per-channel or per-tensor). Nothing but matrix products: the
ratio is the most INT8 can give the model's GEMMs on this CPU (on AVX2 without VNNI about 2x:
`vpmaddubsw` + `vpmaddwd` per 32 uint8 x int8 products against one FMA per 8 floats). Runs
take turns call by call (bench's interleaved timing), spinning workers off.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

SHAPES = ((768, 2304), (2304, 768), (768, 3072), (3072, 768))  # (in, out), chained


def gemm_chain(path: Path, blocks: int, tokens: int) -> None:
    """Write the float chain: x [1, tokens, 768] through `blocks` x SHAPES MatMuls."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits, nodes, last = [], [], "x"
    for b in range(blocks):
        for j, (k, n) in enumerate(SHAPES):
            w = f"w{b}_{j}"
            inits.append(numpy_helper.from_array((rng.standard_normal((k, n)) * 0.02).astype(np.float32), w))
            out = f"h{b}_{j}"
            nodes.append(helper.make_node("MatMul", [last, w], [out], f"mm{b}_{j}"))
            last = out
    nodes[-1].output[0] = "y"
    graph = helper.make_graph(nodes, "gemms", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, tokens, 768])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, tokens, 768])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--blocks", type=int, default=12)
    ap.add_argument("--tokens", type=int, default=50)
    args = ap.parse_args(argv)

    from onnxruntime import quantization as q

    from export_latency import interleaved_latency_ms, ort_version, session

    from moadepth_edge.export.quantize import quiet

    with tempfile.TemporaryDirectory(prefix="int8-gemm-") as tmp:
        files = {"fp32 MatMul": Path(tmp) / "fp32.onnx"}
        gemm_chain(files["fp32 MatMul"], args.blocks, args.tokens)
        for label, per_channel in (("DynamicQuantizeMatMul, per-channel", True),
                                   ("DynamicQuantizeMatMul, per-tensor", False)):
            files[label] = Path(tmp) / f"int8_{per_channel}.onnx"
            with quiet():
                q.quantize_dynamic(str(files["fp32 MatMul"]), str(files[label]), op_types_to_quantize=["MatMul"],
                                   per_channel=per_channel, reduce_range=True, weight_type=q.QuantType.QInt8)
        sessions = {k: session(p, args.threads) for k, p in files.items()}
        x = np.random.default_rng(1).standard_normal((1, args.tokens, 768)).astype(np.float32)
        load = os.getloadavg()
        ms = interleaved_latency_ms(sessions, x, args.warmup, args.runs)
    fp32 = ms["fp32 MatMul"]
    print(f"\n{args.blocks} blocks x {len(SHAPES)} GEMMs on {args.tokens} tokens, ONNX Runtime {ort_version()}, "
          f"{args.threads} threads, spinning off, median of {args.runs} interleaved runs; load average "
          f"{load[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
    for label, t in ms.items():
        print(f"{label:36s} {t:9.2f} ms {fp32 / t:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
