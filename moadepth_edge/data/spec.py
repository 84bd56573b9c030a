"""The one data spec parser, for `train --data`, `eval --data`, `export --calib` and
`bench --data`: `kind:path`, e.g. `nyu:/data/nyu/test_files.txt`.

    synthetic[:N[:rooms][:focal=S|LO-HI]]  N procedural frames (train: seeds 0.., test:
                         held-out seeds); `rooms`: furnished rooms through a random camera
                         (default: boxes); the focal length times S, or a draw from LO-HI
    nyu:LIST|DIR|FILE.mat  BTS sync list (a folder: its {split}_files.txt), or the labeled .mat
    densedepth:CSV       DenseDepth `image,depth` CSV (a header row is skipped)
    kitti:LIST|DIR       KITTI depth (uint16, metres x 256)
    folder:DIR           rgb/depth pairs, --depth-scale units per metre
    DIR                  (images only: `--calib`) every 8-bit colour image below DIR
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Literal

import cv2
import numpy as np

from ..errors import UserError
from ..formats.image_files import image_files
from .sample import DepthReader

KINDS = ("synthetic", "nyu", "densedepth", "kitti", "folder")
DEFAULT_SYNTHETIC = {"train": 1000, "test": 100}
# rendered size of synthetic frames for evaluation, calibration and bench (height, width):
# NYU's aspect ratio, a quarter of its pixels. Training picks its own (--synthetic-size).
SYNTHETIC_SIZE = (240, 320)


def parse_size(text: str, option: str, minimum: int = 1) -> tuple[int, int]:
    """"HEIGHTxWIDTH" (e.g. 120x160) -> (height, width); one UserError line naming `option`
    unless both are integers >= minimum."""
    h, sep, w = text.strip().lower().partition("x")
    if not sep or not h.isdigit() or not w.isdigit() or min(int(h), int(w)) < minimum:
        each = f" (each >= {minimum})" if minimum > 1 else ""
        raise UserError(f"{option} takes HEIGHTxWIDTH{each}, e.g. 120x160, got {text!r}")
    return int(h), int(w)


def open_reader(
    spec: str,
    split: Literal["train", "test"] = "train",
    *,
    root: str | Path | None = None,
    depth_scale: float | None = None,
    synthetic_size: tuple[int, int] = SYNTHETIC_SIZE,
    seed: int = 0,
) -> DepthReader:
    """The reader a `--data` spec names. split picks the list / split where a layout has
    several; root overrides where listed paths are relative to; depth_scale (units per
    metre) overrides the layout's default."""
    kind, _, arg = spec.partition(":")
    if kind not in KINDS:
        raise UserError(f"unknown data kind {kind!r} in {spec!r}; use one of: {', '.join(KINDS)}")
    if kind == "synthetic":
        from .synthetic import SyntheticReader

        count, _, options = arg.partition(":")
        try:
            n = int(count) if count else DEFAULT_SYNTHETIC[split]
        except ValueError:
            raise UserError(f"synthetic:N needs an integer frame count, got {count!r}") from None
        return SyntheticReader(n, size=synthetic_size, seed=seed, split="train" if split == "train" else "heldout",
                               **_synthetic_options(options, spec))
    if not arg:
        raise UserError(f"data spec {spec!r} needs a path: {kind}:PATH")
    path = Path(arg).expanduser()
    if not path.exists():
        raise UserError(f"data path not found: {path}")
    scale = {} if depth_scale is None else {"depth_scale": depth_scale}
    if kind == "nyu":
        from .nyu import NYULabeledReader, NYUSyncReader, nyu_list_in

        if path.suffix.lower() == ".mat":
            return NYULabeledReader(path, split=split)
        list_file = nyu_list_in(path, split) if path.is_dir() else path
        return NYUSyncReader(list_file, root, **scale)
    if kind == "densedepth":
        from .densedepth import DenseDepthReader

        return DenseDepthReader(path, root, **scale)
    if kind == "kitti":
        from .kitti import KITTIReader

        if depth_scale is not None:
            raise UserError("KITTI depth is always metres x 256; use folder: for other scales")
        return KITTIReader(path, root, root)
    from .folder import FolderReader

    return FolderReader(path, **scale)


def _synthetic_options(text: str, spec: str) -> dict:
    """`rooms` / `boxes` and `focal=S` / `focal=LO-HI` after synthetic:N."""
    from .synthetic import STYLES

    focal, style = None, None
    for part in filter(None, text.split(":")):
        key, eq, value = part.partition("=")
        if part in STYLES and style is None:
            style = part
        elif key == "focal" and eq and focal is None:
            try:
                lo, dash, hi = value.partition("-")
                focal = (float(lo), float(hi)) if dash else float(value)
            except ValueError:
                raise UserError(f"focal= needs a scale S or a range LO-HI (e.g. focal=0.8-1.25), "
                                f"got {value!r} in {spec!r}") from None
        else:
            raise UserError(f"unknown or repeated synthetic option {part!r} in {spec!r}; "
                            "use synthetic:N[:rooms][:focal=S|LO-HI]")
    return {**({} if focal is None else {"focal_scale": focal}), **({} if style is None else {"style": style})}


def iter_images(spec: str, split: Literal["train", "test"] = "train") -> Iterator[np.ndarray]:
    """RGB uint8 images of a spec: any `kind:path` above (its images, depth ignored), or a
    plain folder of images (recursive; depth maps - 16-bit or single-channel - skipped)."""
    kind = spec.partition(":")[0]
    if kind in KINDS:
        reader = open_reader(spec, split)
        return (reader[i].rgb for i in range(len(reader)))
    folder = Path(spec).expanduser()
    if not folder.is_dir():
        raise UserError(f"image folder not found: {spec} (give a folder, or one of: "
                        f"{', '.join(k + ':...' for k in KINDS)})")
    return _folder_rgb(folder)


def _folder_rgb(folder: Path) -> Iterator[np.ndarray]:
    for path in image_files(folder, recursive=True):
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is not None and image.dtype == np.uint8 and image.ndim == 3:
            yield np.ascontiguousarray(image[..., 2::-1])
