"""What the model input looks like for real frames and for renders, and whether a tower trained
from scratch can see where its tokens are (the README's "The bundled model on real rooms").

    python benchmarks/domain_gap.py --nyu ../shared/data/nyu_samples [runs/C runs/D ...]

Fine detail (mean |Laplacian| of the grey 224x224 model input, grey levels) and contrast (its
std) of the NYU frames, of `synthetic:N:rooms` renders at 120x160 and 240x320, and of the
120x160 renders after `train --augment-input`'s photometry; then, for the bundled model and any
checkpoints given, on a flat grey image: how much their last tokens still differ by position
(a share of their size) and how much their depth varies (1.0: one depth everywhere).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def detail(rgb: np.ndarray) -> tuple[float, float]:
    """(mean |Laplacian|, std) of the grey image, grey levels."""
    import cv2

    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(cv2.Laplacian(g, cv2.CV_32F)).mean()), float(g.std())


def position_share(model) -> tuple[float, float]:
    """On a flat grey image: the spread of the model's last tokens over positions as a share of
    their size, and the ratio of its largest to smallest predicted depth (1.0: one depth)."""
    import torch

    with torch.no_grad():
        image = torch.full((1, 3, *model.cfg.preprocess.size), 0.5)
        tokens, _ = model._tokens(image, None)
        depth = model.forward_grid(image)
    return float(tokens[0].std(dim=0).mean() / tokens[0].abs().mean()), float(depth.max() / depth.min())


def main(argv: list[str] | None = None) -> int:
    from moadepth_edge.cli.eval import checkpoint_folder
    from moadepth_edge.data.spec import open_reader
    from moadepth_edge.demo import DEMO_CHECKPOINT
    from moadepth_edge.model.checkpoint import load_checkpoint
    from moadepth_edge.data.transforms import training_augment
    from moadepth_edge.errors import UserError
    from moadepth_edge.formats.preprocess import resize_image

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nyu", required=True, help="NYU folder with test_files.txt (the samples)")
    ap.add_argument("--frames", type=int, default=20, help="renders per row")
    ap.add_argument("--texture", type=float, help="the augmented row's texture strength (default: --augment-input's)")
    ap.add_argument("checkpoints", nargs="*", type=Path, help="trained checkpoints or run folders to probe")
    args = ap.parse_args(argv)
    try:
        if args.frames < 1:
            raise UserError(f"--frames must be >= 1, got {args.frames}")
        if args.texture is not None and args.texture < 0:
            raise UserError(f"--texture must be >= 0, got {args.texture}")
        nyu = open_reader(f"nyu:{args.nyu}", "test")
        models = [load_checkpoint(checkpoint_folder(p)).eval() for p in [Path(DEMO_CHECKPOINT), *args.checkpoints]]
    except UserError as exc:
        ap.error(str(exc))

    def row(images) -> str:
        d = np.array([detail(resize_image(im, (224, 224))) for im in images])
        return f"{d[:, 0].mean():.1f} ({d[:, 0].min():.1f}-{d[:, 0].max():.1f}) | {d[:, 1].mean():.1f}"

    aug = training_augment(flip_zoom_jitter=False, at_input=True)
    if args.texture is not None:
        aug = replace(aug, texture=args.texture)
    small = [open_reader(f"synthetic:{args.frames}:rooms", "train", synthetic_size=(120, 160))[i].rgb
             for i in range(args.frames)]
    large = [open_reader(f"synthetic:{args.frames}:rooms", "train", synthetic_size=(240, 320))[i].rgb
             for i in range(args.frames)]
    rng = np.random.default_rng(0)
    print("| model input (224x224) | mean abs Laplacian (min-max) | contrast std |")
    print("| --- | ---: | ---: |")
    print(f"| NYU frames ({len(nyu)}) | {row([nyu[i].rgb for i in range(len(nyu))])} |")
    print(f"| rooms rendered at 120x160 ({args.frames}) | {row(small)} |")
    print(f"| rooms rendered at 240x320 ({args.frames}) | {row(large)} |")
    print(f"| 120x160 rooms + --augment-input, texture {aug.texture:g} ({args.frames}) | "
          f"{row([aug.at_input(resize_image(im, (224, 224)), rng) for im in small])} |")
    print()
    print("| trained model, flat grey image | position spread / size of its last tokens | max / min predicted depth |")
    print("| --- | ---: | ---: |")
    for path, model in zip([Path(DEMO_CHECKPOINT), *args.checkpoints], models):
        share, ratio = position_share(model)
        print(f"| {'bundled demo-tiny' if path == Path(DEMO_CHECKPOINT) else path} | {share:.3f} | {ratio:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
