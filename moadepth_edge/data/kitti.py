"""KITTI depth: uint16 PNGs holding metres x 256, 0 = no lidar return.

Two layouts: a BTS/Eigen list file (`rgb depth focal`; images under the raw-data root, depth
under the ground-truth root, `None` lines skipped), or a flat folder of `rgb_<id>.png` /
`depth_<id>.png` pairs.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from .files import read_list_file, resolve
from .folder import folder_pairs
from .pairs import Pair, PairReader

KITTI_MAX_DEPTH = 80.0
KITTI_DEPTH_SCALE = 256.0


class KITTIReader(PairReader):
    """KITTI depth frames. path: a list file or a folder of rgb_*/depth_* pairs.

    rgb_root / depth_root: where a list file's two columns are relative to (default: its
    folder). Intrinsics are not in these files (KITTI's calib files hold them), so None.
    """

    kind = "kitti"

    def __init__(
        self,
        path: str | Path,
        rgb_root: str | Path | None = None,
        depth_root: str | Path | None = None,
        *,
        min_depth: float = 1e-3,
        max_depth: float = KITTI_MAX_DEPTH,
    ) -> None:
        path = Path(path)
        if path.is_dir():
            pairs, root = folder_pairs(path), path
        elif path.is_file():
            root = path.parent
            rgb_base = Path(rgb_root) if rgb_root else root
            depth_base = Path(depth_root) if depth_root else root
            pairs = [
                Pair(resolve(rgb_base, f[0], path, n), resolve(depth_base, f[1], path, n))
                for n, f in enumerate(read_list_file(path), 1)
                if f[1] != "None"
            ]
        else:
            raise UserError(f"KITTI path not found: {path}")
        super().__init__(pairs, root, depth_scale=KITTI_DEPTH_SCALE, min_depth=min_depth,
                         max_depth=max_depth, source=str(path))
