"""Train/serve skew check: per-image metrics of `eval` (PyTorch on the checkpoint) against the
deployed path (its ONNX export through the runtime's DepthEstimator, as `run --save-depth`).

    python benchmarks/eval_vs_deployed.py [CKPT] --data nyu:../shared/data/nyu_samples/test_files.txt \\
        --data-root ../shared/data/nyu_samples

Prints each image's AbsRel and delta1 through both paths and their largest difference. With
one preprocessing definition the two differ only by ONNX Runtime vs PyTorch float rounding.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    from moadepth_edge.data.spec import open_reader
    from moadepth_edge.demo import DEMO_CHECKPOINT
    from moadepth_edge.export.onnx import export_onnx
    from moadepth_edge.model.checkpoint import load_checkpoint
    from moadepth_edge.runtime.estimator import DepthEstimator
    from moadepth_edge.train.evaluate import evaluate
    from moadepth_edge.train.metrics import evaluate_depth, get_protocol

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", nargs="?", default=str(DEMO_CHECKPOINT))
    ap.add_argument("--data", required=True)
    ap.add_argument("--data-root", type=Path)
    args = ap.parse_args(argv)

    reader = open_reader(args.data, "test", root=args.data_root)
    protocol = get_protocol("standard")
    model = load_checkpoint(args.checkpoint)
    evaluated = {r["name"]: r for r in evaluate(model, reader, protocol).per_image}
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = Path(tmp) / "model.onnx"
        export_onnx(args.checkpoint, onnx_path)
        with DepthEstimator(onnx_path) as est:
            deployed = {}
            for i in range(len(reader)):
                s = reader[i]
                depth = est.predict(np.ascontiguousarray(s.rgb[..., ::-1]))
                deployed[s.name] = evaluate_depth(depth, s.depth, protocol, s.valid)
    print(f"{'image':<28} {'AbsRel eval':>12} {'AbsRel run':>12} {'delta1 eval':>12} {'delta1 run':>12}")
    worst = 0.0
    for name, e in evaluated.items():
        d = deployed[name]
        worst = max(worst, abs(e["abs_rel"] - d["abs_rel"]))
        print(f"{name:<28} {e['abs_rel']:12.5f} {d['abs_rel']:12.5f} {e['delta1']:12.5f} {d['delta1']:12.5f}")
    print(f"largest per-image AbsRel difference: {worst:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
