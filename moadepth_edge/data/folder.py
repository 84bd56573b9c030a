"""A generic folder of RGB / depth pairs, matched by name, with a configurable depth scale.

Accepted layouts (the first that matches):
- `rgb/` and `depth/` sub-folders whose files share a stem (`rgb/0001.jpg`, `depth/0001.png`);
- flat files `rgb_<id>.<ext>` with `depth_<id>.*` or `sync_depth_<id>.*` beside them.
Depth files are single-channel images or .npy arrays, divided by `depth_scale` (units per metre).
An `intrinsics.json` in the folder (fx, fy, cx, cy in the images' pixels, as `write_clip` and
`python -m moadepth_edge.data.render_folder` write it) gives every pair those intrinsics.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from ..formats.image_files import image_files
from .camera_files import load_intrinsics
from .pairs import Pair, PairReader
from .sample import Intrinsics

DEPTH_SUFFIXES = (".png", ".tif", ".tiff", ".npy")


def folder_intrinsics(folder: Path) -> Intrinsics | None:
    """The intrinsics in `folder/intrinsics.json` (read as `run --intrinsics` reads it), None
    without that file."""
    path = folder / "intrinsics.json"
    return load_intrinsics(str(path))[0] if path.is_file() else None


def folder_pairs(folder: Path) -> list[Pair]:
    """(rgb, depth) pairs in `folder`, sorted by name; an image without depth is an error."""
    if (folder / "rgb").is_dir() and (folder / "depth").is_dir():
        images, depth_dir, prefixes = image_files(folder / "rgb"), folder / "depth", ("",)
    else:
        images, depth_dir, prefixes = image_files(folder, prefix="rgb_"), folder, ("depth_", "sync_depth_")
    pairs, k = [], folder_intrinsics(folder)
    for image in images:
        key = image.stem[len("rgb_"):] if depth_dir == folder else image.stem
        candidates = [depth_dir / f"{p}{key}{s}" for p in prefixes for s in DEPTH_SUFFIXES]
        depth = next((c for c in candidates if c.is_file()), None)
        if depth is None:
            raise UserError(f"no depth file for {image} (looked for {candidates[0].name} and similar)")
        pairs.append(Pair(image, depth, k))
    return pairs


class FolderReader(PairReader):
    """RGB-D pairs from a folder (layouts above). depth_scale: 1000 for mm PNGs, 256 for
    KITTI-style PNGs, 1 for .npy in metres."""

    kind = "folder"

    def __init__(
        self,
        folder: str | Path,
        *,
        depth_scale: float = 1000.0,
        min_depth: float = 1e-3,
        max_depth: float | None = None,
    ) -> None:
        folder = Path(folder)
        if not folder.is_dir():
            raise UserError(f"data folder not found: {folder}")
        super().__init__(folder_pairs(folder), folder, depth_scale=depth_scale,
                         min_depth=min_depth, max_depth=max_depth, source=str(folder))
