"""The reader shared by every file-pair layout (NYU sync, DenseDepth CSV, KITTI, folders):
a list of (rgb file, depth file, intrinsics) plus the depth file's scale and valid range."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from .files import read_depth, read_rgb
from .sample import DepthReader, Intrinsics, Sample, make_sample


@dataclass(frozen=True)
class Pair:
    rgb: Path
    depth: Path
    intrinsics: Intrinsics | None = None  # for the file's own resolution


class PairReader(DepthReader):
    """Samples from image / depth file pairs.

    depth_scale: file units per metre (1000 for millimetre PNGs, 256 for KITTI, 1 for .npy
    metres). Pixels outside (min_depth, max_depth) are invalid.
    """

    kind = "pairs"

    def __init__(
        self,
        pairs: list[Pair],
        root: Path,
        *,
        depth_scale: float,
        min_depth: float = 1e-3,
        max_depth: float | None = None,
        source: str = "",
    ) -> None:
        if not pairs:
            raise UserError(f"no image/depth pairs found in {source or root}")
        if depth_scale <= 0:
            raise UserError(f"depth scale must be positive, got {depth_scale}")
        self.pairs, self.root = pairs, root
        self.depth_scale, self.min_depth, self.max_depth = depth_scale, min_depth, max_depth

    def __len__(self) -> int:
        return len(self.pairs)

    def load(self, index: int) -> Sample:
        pair = self.pairs[index]
        rgb = read_rgb(pair.rgb)
        depth = read_depth(pair.depth, self.depth_scale)
        if depth.shape != rgb.shape[:2]:
            raise UserError(f"depth {depth.shape} and image {rgb.shape[:2]} sizes differ: {pair.depth}")
        try:
            name = str(pair.rgb.relative_to(self.root))
        except ValueError:
            name = str(pair.rgb)
        return make_sample(
            rgb, depth, min_depth=self.min_depth, max_depth=self.max_depth,
            intrinsics=pair.intrinsics, name=name,
        )
