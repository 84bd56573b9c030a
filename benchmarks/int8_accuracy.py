"""Accuracy cost of INT8 Q/DQ against FP32 on a trained model, with ONNX Runtime on the CPU.

    python -m moadepth_edge train --out runs/tiny --preset moadepth-tiny --data synthetic:256 \\
        --clip none --epochs 8 --lr 1e-3 --train-all --cache
    python benchmarks/int8_accuracy.py runs/tiny/best --nyu ../shared/data/nyu_samples

Calibrates on synthetic training frames, then scores FP32 and INT8 on held-out synthetic frames
(rooms the training never saw) and on real NYU frames: delta1 / AbsRel / RMSE against ground
truth, and the delta1 agreement of INT8 with FP32 (share of pixels within 1.25x of FP32).
Targets (issue 4): agreement >= 0.98 and |delta1(INT8) - delta1(FP32)| <= 0.01.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def predict(session, prep, frame_bgr: np.ndarray) -> np.ndarray:
    from moadepth_edge.formats.preprocess import depth_to_frame

    (depth,) = session.run(None, {session.get_inputs()[0].name: prep(frame_bgr)})
    return depth_to_frame(depth, frame_bgr.shape[:2])


def score(sessions: dict, prep, samples, protocol) -> dict[str, dict[str, float]]:
    """Mean metrics per session over `samples`, plus INT8's delta1 agreement with FP32."""
    from moadepth_edge.train.metrics import evaluate_depth

    sums: dict[str, dict[str, float]] = {k: {} for k in sessions}
    agree, n = 0.0, 0
    for sample in samples:
        bgr = np.ascontiguousarray(sample.rgb[..., ::-1])
        preds = {k: predict(s, prep, bgr) for k, s in sessions.items()}
        metrics = {k: evaluate_depth(p, sample.depth, protocol, sample.valid) for k, p in preds.items()}
        if any(m is None for m in metrics.values()):
            continue
        for k, m in metrics.items():
            for name in ("delta1", "abs_rel", "rmse"):
                sums[k][name] = sums[k].get(name, 0.0) + m[name]
        ratio = np.maximum(preds["int8"] / preds["fp32"], preds["fp32"] / preds["int8"])
        agree += float(np.mean(ratio < 1.25))
        n += 1
    out = {k: {name: v / n for name, v in s.items()} for k, s in sums.items()}
    out["agreement"] = {"delta1": agree / n, "images": n}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", help="a trained checkpoint folder")
    ap.add_argument("--calib", default="synthetic:32", help="calibration images (train split)")
    ap.add_argument("--calib-method", default="percentile")
    ap.add_argument("--int8-activations", default="asymmetric", help="asymmetric (CPU) | symmetric (TensorRT)")
    ap.add_argument("--heldout", type=int, default=32, help="held-out synthetic frames")
    ap.add_argument("--nyu", type=Path, help="folder with NYU frames and a list file")
    args = ap.parse_args(argv)

    import onnxruntime as ort

    from moadepth_edge.data.synthetic import SyntheticReader
    from moadepth_edge.export import export_onnx
    from moadepth_edge.formats.preprocess import Preprocessor
    from moadepth_edge.train.metrics import Protocol

    folder = Path(tempfile.mkdtemp(prefix="int8-accuracy-"))
    fp32 = export_onnx(args.checkpoint, folder / "fp32.onnx")
    export_onnx(args.checkpoint, folder / "int8.onnx", precision="int8", calib=args.calib,
                calib_method=args.calib_method, int8_activations=args.int8_activations)
    sessions = {k: ort.InferenceSession(str(folder / f"{k}.onnx"), providers=["CPUExecutionProvider"])
                for k in ("fp32", "int8")}
    prep = Preprocessor(fp32)
    sets = [("synthetic held-out", SyntheticReader(args.heldout, size=(240, 320), split="heldout"),
             Protocol("synthetic", crop="none", max_depth=fp32.model_cfg.bins.max_depth))]
    if args.nyu:
        from moadepth_edge.data.nyu import NYUSyncReader, nyu_list_in

        sets.append(("NYU samples", NYUSyncReader(nyu_list_in(args.nyu, "test")), Protocol("standard")))

    print(f"\nINT8 ({args.int8_activations} activations, {args.calib_method}, calib {args.calib}) "
          f"vs FP32, {args.checkpoint}")
    print(f"{'data':20s} {'n':>3s} {'d1 fp32':>8s} {'d1 int8':>8s} {'d1 diff':>8s} {'AbsRel fp32/int8':>17s} "
          f"{'RMSE fp32/int8':>15s} {'agreement':>9s}")
    for label, reader, protocol in sets:
        r = score(sessions, prep, reader, protocol)
        f, q, a = r["fp32"], r["int8"], r["agreement"]
        print(f"{label:20s} {a['images']:3d} {f['delta1']:8.4f} {q['delta1']:8.4f} "
              f"{q['delta1'] - f['delta1']:+8.4f} {f['abs_rel']:8.4f}/{q['abs_rel']:.4f} "
              f"{f['rmse']:7.4f}/{q['rmse']:.4f} {a['delta1']:9.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
