"""ONNX Runtime CPU latency of the exported model vs the bare CLIP visual tower vs the unfused
export, and the INT8 forms vs FP32, in one interleaved run on this machine.

    python benchmarks/export_latency.py                       # moadepth-vitb32, random weights
    python benchmarks/export_latency.py --preset moadepth-tiny --runs 50     # seconds, smoke

Rows: the bare open_clip tower, the unfused and the fused FP32 export, the INT8 Q/DQ file
TensorRT takes (int8 symmetric activations), the portable uint8 Q/DQ file, and the
`--profile cpu-int8` export (its [export] settings, but image input like the others instead of
the profile's embedded frame preprocessing, so every row times the same tensor).
Targets: fused model within 1.10x of the bare ViT-B/32 tower (issue 4); cpu-int8 >= 2.5x faster
than fused FP32 (issue 14). Prints a table (median ms and ratios), the load average before
and after, and the ORT kernels each INT8 graph runs. Sessions take turns call by call
(bench.measure.time_interleaved), so load from other processes hits every row alike; still,
run it on a quiet machine and quote the numbers with the command and the load.
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


def session(path: Path, threads: int, optimized: Path | None = None, profile_prefix: Path | None = None):
    """A CPU session as every model here is timed: ORT_ENABLE_ALL, `threads` intra-op threads,
    spinning off; `optimized`: also write ORT's optimized graph there; `profile_prefix`: profile."""
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
    if profile_prefix is not None:
        opts.enable_profiling = True
        opts.profile_file_prefix = str(profile_prefix)
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def interleaved_latency_ms(sessions: dict, x: np.ndarray, warmup: int, runs: int) -> dict[str, float]:
    """Median ms per session, the sessions taking turns run by run (bench's interleaved timing)."""
    from moadepth_edge.bench.measure import Budget, time_interleaved

    calls = {k: (lambda s=s, feed={s.get_inputs()[0].name: x}: s.run(None, feed)) for k, s in sessions.items()}
    times = time_interleaved(calls, Budget(warmup=warmup, iters=runs))
    return {k: statistics.median(v) for k, v in times.items()}


def ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


def kernel_counts(optimized: Path) -> dict[str, int]:
    """Op types of ORT's optimized graph that carry the quantized matrix products."""
    import onnx

    ops = collections.Counter(n.op_type for n in onnx.load(str(optimized)).graph.node)
    names = ("MatMulIntegerToFloat", "QLinearMatMul", "QGemm", "DynamicQuantizeMatMul",
             "MatMulInteger", "MatMul", "FusedMatMul", "Gemm", "QAttention", "Attention", "MultiHeadAttention",
             "QuantizeLinear", "DequantizeLinear")
    return {"nodes": sum(ops.values()), **{k: ops[k] for k in names if ops.get(k)}}


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
        BARE: folder / "bare_tower.onnx",
        "unfused export": folder / "unfused.onnx",
        FP32: folder / "fused_fp32.onnx",
        QDQ_SYM: folder / "fused_int8_sym.onnx",
        QDQ_ASYM: folder / "fused_int8_asym.onnx",
        CPU_INT8: folder / "fused_int8_cpu.onnx",
    }
    missing = {k: p for k, p in files.items() if not (args.reuse and p.is_file())}
    if missing:
        print(f"exporting {model.cfg.name} to {folder}: {', '.join(missing)} ...", file=sys.stderr)
        for label, path in missing.items():
            export_one(model, label, path, args)
    _time_and_print(model, files, folder, x, args)
    return 0


BARE, FP32, CPU_INT8 = "bare visual tower", "fused export (fp32)", "--profile cpu-int8"
QDQ_SYM, QDQ_ASYM = "INT8 Q/DQ, int8 sym. (TensorRT)", "INT8 Q/DQ, uint8 asym."


def export_one(model, label: str, path: Path, args: argparse.Namespace) -> None:
    """Export the file of one row."""
    from moadepth_edge.export.onnx import export_onnx
    from moadepth_edge.formats.profile import load_profile, override

    if label == BARE:
        export_bare_tower(model, path, args.opset)
    elif label == "unfused export":
        export_onnx(model, path, fuse=False, opset=args.opset)
    elif label == FP32:
        export_onnx(model, path, opset=args.opset)
    elif label == CPU_INT8:
        settings = override(load_profile("cpu-int8").export, embed_preprocess=False, opset=args.opset)
        export_onnx(model, path, calib=args.calib, **settings.options())
    else:
        export_onnx(model, path, precision="int8", calib=args.calib, opset=args.opset, calib_method="percentile",
                    int8_activations="symmetric" if label == QDQ_SYM else "asymmetric")


def _time_and_print(model, files: dict[str, Path], folder: Path, x: np.ndarray,
                    args: argparse.Namespace) -> None:
    sessions, kernels = {}, {}
    for label, path in files.items():
        optimized = folder / f"{path.stem}.ort-optimized.onnx" if "int8" in label.lower() else None
        sessions[label] = session(path, args.threads, optimized)
        if optimized is not None:
            kernels[label] = kernel_counts(optimized)
    load = os.getloadavg()
    results = interleaved_latency_ms(sessions, x, args.warmup, args.runs)

    bare, fp32 = results[BARE], results[FP32]
    print(f"\nONNX Runtime {ort_version()} CPU latency, {model.cfg.name}, batch {args.batch}, "
          f"{args.threads} threads, spinning off, median of {args.runs} interleaved runs; load average "
          f"{load[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"{'model':34s} {'ms':>9s} {'vs bare tower':>14s} {'fp32 / this':>14s}")
    for label, ms in results.items():
        print(f"{label:34s} {ms:9.2f} {ms / bare:13.2f}x {fp32 / ms:13.2f}x")
    for label, counts in kernels.items():
        print(f"ORT kernels, {label}: {counts}")


if __name__ == "__main__":
    sys.exit(main())
