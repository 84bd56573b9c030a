"""Accuracy cost of each INT8 form (and FP16) against FP32 on a trained model, with ONNX Runtime on the CPU.

    python -m moadepth_edge train --out runs/tiny --preset moadepth-tiny --data synthetic:256 \\
        --clip none --epochs 8 --lr 1e-3 --train-all --cache
    python benchmarks/int8_accuracy.py runs/tiny/best --nyu ../shared/data/nyu_samples

Forms (`--forms`): `cpu-int8` is the `--profile cpu-int8` export exactly as shipped (uint8
frame in, ONNX Runtime's CPU graph, dynamic activation ranges); `asymmetric` the static uint8
Q/DQ file; `symmetric` the Q/DQ file TensorRT takes; `fp16` the FP16 export (`--precision fp16`:
FP16 weights and activations, LayerNorm / Softmax / head kept FP32, as for TensorRT). The static forms calibrate on synthetic
training frames (`--calib`). Each is scored with the FP32 export on held-out synthetic frames
(rooms the training never saw) and on real NYU frames: delta1 / AbsRel / RMSE against ground
truth, and the delta1 agreement with FP32 (share of pixels within 1.25x of FP32's depth).
Targets (issue 14): agreement >= 0.99 and |delta1(INT8) - delta1(FP32)| <= 0.005 ("ok").
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FORMS = ("cpu-int8", "asymmetric", "symmetric", "fp16")
AGREEMENT_MIN, DELTA1_MAX_DIFF = 0.99, 0.005


def predict(model, frame_bgr: np.ndarray) -> np.ndarray:
    """Depth in metres at the frame's size from (session, preprocessor)."""
    from moadepth_edge.formats.preprocess import depth_to_frame

    backend, prep = model
    return depth_to_frame(backend.infer(prep(frame_bgr)), frame_bgr.shape[:2])


def score(models: dict, samples, protocol) -> dict[str, dict[str, float]]:
    """Mean metrics per model over `samples`; for each model but "fp32", its delta1 agreement
    with FP32 under the key "agreement"."""
    from moadepth_edge.train.metrics import evaluate_depth

    sums: dict[str, dict[str, float]] = {k: {} for k in models}
    n = 0
    for sample in samples:
        bgr = np.ascontiguousarray(sample.rgb[..., ::-1])
        preds = {k: predict(m, bgr) for k, m in models.items()}
        metrics = {k: evaluate_depth(p, sample.depth, protocol, sample.valid) for k, p in preds.items()}
        if any(m is None for m in metrics.values()):
            continue
        for k, m in metrics.items():
            for name in ("delta1", "abs_rel", "rmse"):
                sums[k][name] = sums[k].get(name, 0.0) + m[name]
            if k != "fp32":
                ratio = np.maximum(preds[k] / preds["fp32"], preds["fp32"] / preds[k])
                sums[k]["agreement"] = sums[k].get("agreement", 0.0) + float(np.mean(ratio < 1.25))
        n += 1
    return {k: {name: v / n for name, v in s.items()} | {"images": n} for k, s in sums.items()}


def export_forms(checkpoint: str, folder: Path, forms: list[str], calib: str, calib_method: str) -> dict:
    """{"fp32" and each form: (the runtime's ONNX Runtime backend, preprocessor)} for the
    checkpoint's exports (the backend's session options, as `run` uses them: ORT's default
    optimisations crash on the FP16 graph)."""
    from moadepth_edge.export import export_onnx
    from moadepth_edge.runtime.backends import load_backend
    from moadepth_edge.formats.preprocess import Preprocessor
    from moadepth_edge.formats.profile import load_profile

    artifacts = {"fp32": export_onnx(checkpoint, folder / "fp32.onnx")}
    for form in forms:
        if form == "cpu-int8":
            opts = load_profile("cpu-int8").export.options()
        elif form == "fp16":
            opts = {"precision": "fp16"}
        else:
            opts = {"precision": "int8", "calib_method": calib_method, "int8_activations": form}
        artifacts[form] = export_onnx(checkpoint, folder / f"{form}.onnx", calib=calib, **opts)
    return {k: (load_backend(folder / f"{k}.onnx", "onnxruntime"), Preprocessor(a)) for k, a in artifacts.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", help="a trained checkpoint folder")
    ap.add_argument("--forms", default=",".join(FORMS), help=f"comma-separated, of {', '.join(FORMS)}")
    ap.add_argument("--style", default="rooms", choices=("rooms", "boxes"),
                    help="synthetic renderer for the held-out frames and the default calibration (the model's training scenes)")
    ap.add_argument("--calib", help="calibration images (train split; default synthetic:32:STYLE); cpu-int8: checks")
    ap.add_argument("--calib-method", default="percentile", help="static forms: minmax | percentile | entropy")
    ap.add_argument("--heldout", type=int, default=32, help="held-out synthetic frames")
    ap.add_argument("--nyu", type=Path, help="folder with NYU frames and a list file")
    args = ap.parse_args(argv)
    args.calib = args.calib or f"synthetic:32:{args.style}"
    forms = [f.strip() for f in args.forms.split(",") if f.strip()]
    if not forms or set(forms) - set(FORMS):
        ap.error(f"--forms takes {', '.join(FORMS)}")

    from moadepth_edge.data.synthetic import SyntheticReader
    from moadepth_edge.train.metrics import Protocol

    models = export_forms(args.checkpoint, Path(tempfile.mkdtemp(prefix="int8-accuracy-")), forms,
                         args.calib, args.calib_method)
    max_depth = models["fp32"][1].artifact.model_cfg.bins.max_depth
    sets = [("synthetic held-out", SyntheticReader(args.heldout, size=(240, 320), split="heldout", style=args.style),
             Protocol("synthetic", crop="none", max_depth=max_depth))]
    if args.nyu:
        from moadepth_edge.data.nyu import NYUSyncReader, nyu_list_in

        sets.append(("NYU samples", NYUSyncReader(nyu_list_in(args.nyu, "test")), Protocol("standard")))

    print(f"\nINT8 / FP16 vs FP32, {args.checkpoint}; static INT8 forms: {args.calib_method} calibration on {args.calib}")
    print(f"{'data':19s} {'form':11s} {'n':>3s} {'d1 fp32':>8s} {'d1 form':>8s} {'d1 diff':>8s} "
          f"{'AbsRel fp32/form':>17s} {'RMSE fp32/form':>15s} {'agreement':>9s} {'ok':>3s}")
    for label, reader, protocol in sets:
        r = score(models, list(reader), protocol)
        f = r["fp32"]
        for form in forms:
            q = r[form]
            diff = q["delta1"] - f["delta1"]
            ok = q["agreement"] >= AGREEMENT_MIN and abs(diff) <= DELTA1_MAX_DIFF
            print(f"{label:19s} {form:11s} {q['images']:3d} {f['delta1']:8.4f} {q['delta1']:8.4f} {diff:+8.4f} "
                  f"{f['abs_rel']:8.4f}/{q['abs_rel']:.4f} {f['rmse']:7.4f}/{q['rmse']:.4f} "
                  f"{q['agreement']:9.4f} {'yes' if ok else 'NO':>3s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
