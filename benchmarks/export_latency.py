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
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def export_bare_tower(model, path: Path, opset: int) -> None:
    """The open_clip visual tower alone (normalised image in, pooled embedding out)."""
    import torch

    from moadepth_edge.export.trace import tracing

    visual = model.encoder.visual.eval()
    h, w = model.cfg.preprocess.size
    with tracing():
        torch.onnx.export(visual, (torch.rand(1, 3, h, w),), str(path), dynamo=False,
                          opset_version=opset, input_names=["image"], output_names=["embedding"],
                          dynamic_axes={"image": {0: "batch"}, "embedding": {0: "batch"}})


def session(path: Path, threads: int, optimized: Path | None = None):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # sessions take turns: a finished session's spinning workers would steal the next one's cores
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if optimized is not None:  # to list the kernels ORT chose; same process and machine
        opts.optimized_model_filepath = str(optimized)
        opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def interleaved_latency_ms(sessions: dict, x: np.ndarray, warmup: int, runs: int) -> dict[str, float]:
    """Median ms per session, the sessions taking turns run by run (bench's interleaved timing)."""
    from moadepth_edge.bench.measure import Budget, time_interleaved

    calls = {k: (lambda s=s, feed={s.get_inputs()[0].name: x}: s.run(None, feed)) for k, s in sessions.items()}
    times = time_interleaved(calls, Budget(warmup=warmup, iters=runs))
    return {k: statistics.median(v) for k, v in times.items()}


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
    ap.add_argument("--reuse", action="store_true", help="time the files already in --keep")
    args = ap.parse_args(argv)

    from moadepth_edge.export.onnx import load_model

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
    if not (args.reuse and all(p.is_file() for p in files.values())):
        export_all(model, files, args)
    _time_and_print(model, files, folder, x, args)
    return 0


def export_all(model, files: dict[str, Path], args: argparse.Namespace) -> None:
    from moadepth_edge.export.onnx import export_onnx

    print(f"exporting {model.cfg.name} to {files['bare visual tower'].parent} ...", file=sys.stderr)
    export_bare_tower(model, files["bare visual tower"], args.opset)
    export_onnx(model, files["unfused export"], fuse=False, opset=args.opset)
    export_onnx(model, files["fused export (fp32)"], opset=args.opset)
    for key, act in (("fused INT8 Q/DQ, int8 sym. act.", "symmetric"),
                     ("fused INT8 Q/DQ, uint8 asym. act.", "asymmetric")):
        export_onnx(model, files[key], precision="int8", calib=args.calib, opset=args.opset,
                    int8_activations=act, calib_method="percentile")


def _time_and_print(model, files: dict[str, Path], folder: Path, x: np.ndarray,
                    args: argparse.Namespace) -> None:
    sessions, kernels = {}, {}
    for label, path in files.items():
        optimized = folder / f"{path.stem}.ort-optimized.onnx" if "INT8" in label else None
        sessions[label] = session(path, args.threads, optimized)
        if optimized is not None:
            kernels[label] = kernel_counts(optimized)
    results = interleaved_latency_ms(sessions, x, args.warmup, args.runs)

    bare, fp32 = results["bare visual tower"], results["fused export (fp32)"]
    print(f"\nONNX Runtime CPU latency, {model.cfg.name}, batch {args.batch}, {args.threads} threads, "
          f"median of {args.runs} interleaved runs")
    print(f"{'model':36s} {'ms':>9s} {'vs bare tower':>14s} {'fp32 / this':>14s}")
    for label, ms in results.items():
        print(f"{label:36s} {ms:9.2f} {ms / bare:13.2f}x {fp32 / ms:13.2f}x")
    for label, counts in kernels.items():
        print(f"ORT kernels, {label}: {counts}")


if __name__ == "__main__":
    sys.exit(main())
