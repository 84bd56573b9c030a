"""`--data` specs -> readers: `kind:path`, e.g. `nyu:/data/nyu/test_files.txt`.

    synthetic[:N]        N procedural frames (train: seeds 0.., test: held-out seeds)
    nyu:LIST|DIR|FILE.mat  BTS sync list (a folder: its {split}_files.txt), or the labeled .mat
    densedepth:CSV       DenseDepth `image,depth` CSV
    kitti:LIST|DIR       KITTI depth (uint16, metres x 256)
    folder:DIR           rgb/depth pairs, --depth-scale units per metre
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from ..errors import UserError
from .sample import DepthReader

KINDS = ("synthetic", "nyu", "densedepth", "kitti", "folder")
DEFAULT_SYNTHETIC = {"train": 1000, "test": 100}


def open_reader(
    spec: str,
    split: Literal["train", "test"] = "train",
    *,
    root: str | Path | None = None,
    depth_scale: float | None = None,
    synthetic_size: tuple[int, int] = (120, 160),
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

        try:
            n = int(arg) if arg else DEFAULT_SYNTHETIC[split]
        except ValueError:
            raise UserError(f"synthetic:N needs an integer frame count, got {arg!r}") from None
        return SyntheticReader(n, size=synthetic_size, seed=seed,
                               split="train" if split == "train" else "heldout")
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
