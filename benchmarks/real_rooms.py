"""How synthetic-trained checkpoints do on real rooms: the NYU samples, the standard protocol.

    python benchmarks/real_rooms.py runs/a runs/b --nyu ../shared/data/nyu_samples --median-frames 64

Scores each checkpoint (a checkpoint folder or a run folder: its best/), the bundled demo
model, and the best constant depth (the median of the valid depths of N training-style frames,
`--data`) and their layout (per-pixel median depth, no image) on the NYU frames with the standard protocol (valid 1e-3..10 m, Eigen crop, metric:
no median scaling), by the same code as `moadepth-edge eval CKPT --data nyu:DIR`. Prints a
Markdown table with each run's best held-out synthetic delta1 (its eval.csv) where it has one,
and whether a model sees layout at all (`structure`: the correlation of its log depth with the
measured log depth, and the spread of its prediction), which delta1 alone hides on three frames.
Never train on the NYU frames: they are the only real test this project has.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def training_depths(spec: str, n: int, size: tuple[int, int]) -> np.ndarray:
    """The depth maps of the first n training frames of `spec`, [n, H, W], NaN where invalid."""
    from moadepth_edge.data.spec import open_reader

    reader = open_reader(spec, "train", synthetic_size=size)
    return np.stack([np.where(s.valid, s.depth, np.nan) for s in (reader[i] for i in range(min(n, len(reader))))])


def fixed_map(depth: np.ndarray):
    """A 'model' that ignores the image: `depth` (HxW) stretched to each frame."""
    import cv2

    return lambda rgb: cv2.resize(depth.astype(np.float32), (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)


def score(predict_fn, reader, protocol) -> dict[str, float]:
    """Metrics of predict_fn(rgb) -> depth on each frame, averaged per image like `evaluate`."""
    from moadepth_edge.train.metrics import MetricAverager, evaluate_depth

    avg = MetricAverager()
    for i in range(len(reader)):
        s = reader[i]
        avg.update(evaluate_depth(predict_fn(s.rgb), s.depth, protocol, s.valid))
    return avg.result()


def structure(predict_fn, reader, protocol) -> tuple[float, float, list[float]]:
    """Whether a model sees the room's layout or only guesses a scale, per frame averaged: the
    correlation of log predicted with log measured depth over the scored pixels (0: no layout;
    scale-invariant, so a constant scores 0 however well its value is chosen) and the spread of
    the prediction, its 90th / 10th percentile (1.0: one depth for the whole frame); and each
    frame's scale, the median of predicted / measured depth (delta1 counts pixels within 1.25x)."""
    from moadepth_edge.train.metrics import eval_mask

    corr, spread, scale = [], [], []
    for i in range(len(reader)):
        s = reader[i]
        mask = eval_mask(s.depth, protocol, s.valid)
        p, g = predict_fn(s.rgb)[mask].astype(np.float64), s.depth[mask].astype(np.float64)
        lp, lg = np.log(np.clip(p, 1e-3, None)), np.log(g)
        corr.append(float(np.corrcoef(lp, lg)[0, 1]) if lp.std() > 1e-6 else 0.0)  # below: float noise
        spread.append(float(np.percentile(p, 90) / max(np.percentile(p, 10), 1e-3)))
        scale.append(float(np.median(p / g)))
    return float(np.mean(corr)), float(np.mean(spread)), scale


def measured_spread(reader, protocol) -> float:
    """The spread (90th / 10th percentile) of the measured depth, per frame averaged."""
    from moadepth_edge.train.metrics import eval_mask

    out = []
    for i in range(len(reader)):
        s = reader[i]
        g = s.depth[eval_mask(s.depth, protocol, s.valid)]
        out.append(float(np.percentile(g, 90) / np.percentile(g, 10)))
    return float(np.mean(out))


def heldout_delta1(folder: Path) -> str:
    """The best held-out delta1 in a run folder's eval.csv ('' when there is none)."""
    for run in (folder, folder.parent):
        path = run / "eval.csv"
        if path.is_file():
            rows = [r for r in csv.DictReader(path.open()) if r.get("delta1")]
            return f"{max(float(r['delta1']) for r in rows):.3f}" if rows else ""
    return ""


def save_picture(model, sample, path: Path) -> None:
    """real frame | predicted depth | ground truth (black: no measurement), 0.5-8 m, half size."""
    import cv2

    from moadepth_edge.formats.camera import depth_scale
    from moadepth_edge.runtime.viz import colorize
    from moadepth_edge.train.evaluate import predict

    pred = predict(model, [sample.rgb])[0]
    k = sample.intrinsics
    if k is not None:
        pred = pred * np.float32(depth_scale(model.cfg, k.fx, k.fy, sample.rgb.shape[:2]))
    truth = np.where(sample.valid, sample.depth, 0.0)
    row = np.concatenate([sample.rgb[:, :, ::-1], colorize(pred, 0.5, 8.0), colorize(truth, 0.5, 8.0)], axis=1)
    from moadepth_edge.outputs import write_with

    h, w = row.shape[:2]
    half = cv2.resize(row, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    write_with(path, lambda tmp: cv2.imwrite(str(tmp), half))


def main(argv: list[str] | None = None) -> int:
    from moadepth_edge.cli.eval import checkpoint_folder
    from moadepth_edge.data.spec import open_reader, parse_size
    from moadepth_edge.demo import DEMO_CHECKPOINT
    from moadepth_edge.errors import UserError
    from moadepth_edge.model.checkpoint import load_checkpoint
    from moadepth_edge.outputs import output_file
    from moadepth_edge.train.evaluate import evaluate, predict
    from moadepth_edge.train.metrics import get_protocol

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoints", nargs="*", type=Path)
    ap.add_argument("--nyu", required=True, help="NYU folder with test_files.txt (the samples)")
    ap.add_argument("--median-frames", type=int, default=64, help="training-style frames for the constant")
    ap.add_argument("--data", default="synthetic:1000:rooms", help="the training data the constant comes from")
    ap.add_argument("--size", default="120x160", help="rendered size of those frames, HxW")
    ap.add_argument("--picture", type=Path, help="write frame | predicted | truth of the last checkpoint here")
    ap.add_argument("--picture-frame", type=int, default=0, help="which NYU frame the picture shows")
    args = ap.parse_args(argv)

    protocol = get_protocol("standard")
    try:  # every mistake before any scoring, as one line
        if args.median_frames < 1:
            raise UserError(f"--median-frames must be >= 1, got {args.median_frames}")
        if args.picture is not None:
            output_file(args.picture, "--picture", suffixes=(".png",))
        reader = open_reader(f"nyu:{args.nyu}", "test")
        if not 0 <= args.picture_frame < len(reader):
            raise UserError(f"--picture-frame takes 0..{len(reader) - 1} ({len(reader)} NYU frames), got {args.picture_frame}")
        size = parse_size(args.size, "--size")
        paths = [Path(DEMO_CHECKPOINT), *args.checkpoints]
        folders = [checkpoint_folder(p) for p in paths]
        models = [load_checkpoint(f).eval() for f in folders]
    except UserError as exc:
        ap.error(str(exc))
    depths = training_depths(args.data, args.median_frames, size)
    const = float(np.nanmedian(depths))
    constant, layout = fixed_map(np.full((1, 1), const)), fixed_map(np.nanmedian(depths, axis=0))
    rows = [(f"constant {const:.2f} m (median of {args.median_frames} `{args.data}` frames)",
             score(constant, reader, protocol), "", structure(constant, reader, protocol)),
            ("layout prior: their per-pixel median depth, no image", score(layout, reader, protocol), "",
             structure(layout, reader, protocol))]
    for path, folder, model in zip(paths, folders, models):
        result = evaluate(model, reader, protocol)
        name = "bundled demo-tiny" if path == Path(DEMO_CHECKPOINT) else str(path)
        rows.append((name, result.metrics, heldout_delta1(folder),
                     structure(lambda rgb: predict(model, [rgb])[0], reader, protocol)))
    if args.picture is not None:
        save_picture(model, reader[args.picture_frame], args.picture)
    print(f"\n{len(reader)} NYU frames ({args.nyu}), standard protocol (Eigen crop, 1e-3..10 m, metric)\n")
    print("| model | delta1 | AbsRel | RMSE (m) | log-depth corr. | spread p90/p10 | pred/true per frame | held-out synthetic delta1 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"| measured depth | 1 | 0 | 0 | +1.00 | {measured_spread(reader, protocol):.2f} | 1 | |")
    for name, m, held, (corr, spread, scale) in rows:
        print(f"| {name} | {m['delta1']:.3f} | {m['abs_rel']:.3f} | {m['rmse']:.3f} | {corr:+.2f} | {spread:.2f} "
              f"| {' '.join(f'{v:.2f}' for v in scale)} | {held} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
