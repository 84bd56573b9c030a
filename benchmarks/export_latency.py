"""ONNX Runtime CPU latency of the exported model vs the bare CLIP visual tower vs the unfused
export, and INT8 Q/DQ vs FP32, in one run on this machine.

    python benchmarks/export_latency.py                       # moadepth-vitb32, random weights
    python benchmarks/export_latency.py --preset moadepth-tiny --runs 50     # seconds, smoke

Targets (issue 4): fused model within 1.10x of the bare ViT-B/32 tower; INT8 >= 1.8x faster
than FP32. Prints a table (median ms and ratios) and the ORT kernels the INT8 graph runs.
A benchmark, not a test: run it on a quiet machine and quote the numbers with the command.
"""
from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def export_bare_tower(model, path: Path, opset: int) -> None:
    """The open_clip visual tower alone (normalised image in, pooled embedding out)."""
    import torch

    from moadepth_edge.export.onnx import _no_mha_fastpath, _quiet_export_warnings

    visual = model.encoder.visual.eval()
    h, w = model.cfg.preprocess.size
    with torch.no_grad(), _no_mha_fastpath(torch), _quiet_export_warnings():
        torch.onnx.export(visual, (torch.rand(1, 3, h, w),), str(path), dynamo=False,
                          opset_version=opset, input_names=["image"], output_names=["embedding"],
                          dynamic_axes={"image": {0: "batch"}, "embedding": {0: "batch"}})


def session(path: Path, threads: int, optimized: Path | None = None):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if optimized is not None:
        opts.optimized_model_filepath = str(optimized)
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def latency_ms(sess, x: np.ndarray, warmup: int, runs: int) -> float:
    feed = {sess.get_inputs()[0].name: x}
    for _ in range(warmup):
        sess.run(None, feed)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, feed)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def kernel_counts(optimized: Path) -> dict[str, int]:
    """Op types of ORT's optimized graph that carry the quantized matrix products."""
    import onnx

    ops = collections.Counter(n.op_type for n in onnx.load(str(optimized)).graph.node)
    names = ("MatMulIntegerToFloat", "QLinearMatMul", "QGemm", "DynamicQuantizeMatMul",
             "MatMulInteger", "MatMul", "FusedMatMul", "Gemm", "QuantizeLinear", "DequantizeLinear")
    return {k: ops[k] for k in names if ops.get(k)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="moadepth-vitb32", help="model preset (random weights)")
    ap.add_argument("--checkpoint", help="a trained checkpoint folder instead of a preset")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="ORT intra-op threads")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--calib", default="synthetic:16", help="INT8 calibration images")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--keep", type=Path, help="keep the exported files in this folder")
    args = ap.parse_args(argv)

    from moadepth_edge.export.onnx import export_onnx, load_model

    model, _, _ = load_model(args.checkpoint or args.preset)
    h, w = model.cfg.preprocess.size
    x = np.random.default_rng(0).random((args.batch, 3, h, w), dtype=np.float32)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="export-latency-"))
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "bare visual tower": folder / "bare_tower.onnx",
        "unfused export": folder / "unfused.onnx",
        "fused export (fp32)": folder / "fused_fp32.onnx",
        "fused INT8 Q/DQ, int8 sym. act.": folder / "fused_int8_sym.onnx",
        "fused INT8 Q/DQ, uint8 asym. act.": folder / "fused_int8_asym.onnx",
    }
    print(f"exporting {model.cfg.name} to {folder} ...", file=sys.stderr)
    export_bare_tower(model, files["bare visual tower"], args.opset)
    export_onnx(model, files["unfused export"], fuse=False, opset=args.opset)
    export_onnx(model, files["fused export (fp32)"], opset=args.opset)
    for key, act in (("fused INT8 Q/DQ, int8 sym. act.", "symmetric"),
                     ("fused INT8 Q/DQ, uint8 asym. act.", "asymmetric")):
        export_onnx(model, files[key], precision="int8", calib=args.calib, opset=args.opset,
                    int8_activations=act, calib_method="percentile")

    results, kernels = {}, {}
    for label, path in files.items():
        optimized = folder / f"{path.stem}.ort-optimized.onnx"
        sess = session(path, args.threads, optimized if "INT8" in label else None)
        results[label] = latency_ms(sess, x, args.warmup, args.runs)
        if "INT8" in label:
            kernels[label] = kernel_counts(optimized)

    bare, fp32 = results["bare visual tower"], results["fused export (fp32)"]
    print(f"\nONNX Runtime CPU latency, {model.cfg.name}, batch {args.batch}, {args.threads} threads, "
          f"median of {args.runs} runs")
    print(f"{'model':36s} {'ms':>9s} {'vs bare tower':>14s} {'fp32 / this':>14s}")
    for label, ms in results.items():
        print(f"{label:36s} {ms:9.2f} {ms / bare:13.2f}x {fp32 / ms:13.2f}x")
    for label, counts in kernels.items():
        print(f"ORT kernels, {label}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
