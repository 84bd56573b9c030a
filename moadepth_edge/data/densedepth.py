"""The DenseDepth CSV layout (Alhashim & Wonka 2018): `image,depth` per line, with or without
a header row (`image_path,depth_path`).

DenseDepth's nyu_data.zip lists paths such as `data/nyu2_train/living_room_0038_out/37.jpg`,
relative to the folder that holds `data/`, i.e. the CSV's parent when the CSV sits in `data/`.
Depth PNGs here are uint16 millimetres (pass depth_scale for other encodings).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from ..errors import UserError
from ..formats.image_files import is_image
from .pairs import Pair, PairReader
from .sample import nyu_intrinsics


class DenseDepthReader(PairReader):
    """Image / depth pairs from a DenseDepth-style CSV.

    root: the folder the CSV's paths are relative to; by default the CSV's folder, or its
    parent when the first listed image is found there (DenseDepth's own layout).
    """

    kind = "densedepth"

    def __init__(
        self,
        csv_file: str | Path,
        root: str | Path | None = None,
        *,
        depth_scale: float = 1000.0,
        min_depth: float = 1e-3,
        max_depth: float = 10.0,
    ) -> None:
        csv_file = Path(csv_file)
        if not csv_file.is_file():
            raise UserError(f"CSV file not found: {csv_file}")
        rows = []
        try:
            text = csv_file.read_bytes().decode("utf-8")  # newlines as they are, as csv wants
        except UnicodeDecodeError:
            raise UserError(f"{csv_file}: not a CSV text file of `image,depth` rows") from None
        for lineno, row in enumerate(csv.reader(io.StringIO(text, newline="")), 1):
            row = [c.strip() for c in row]
            if not row or not any(row):
                continue
            if len(row) < 2:
                raise UserError(f"{csv_file}:{lineno}: expected `image,depth`, got {','.join(row)!r}")
            if not rows and _is_header(row):
                continue
            rows.append((lineno, row[0], row[1]))
        if not rows:
            raise UserError(f"CSV file is empty: {csv_file}")
        base = Path(root) if root is not None else _guess_root(csv_file, rows[0][1])
        pairs = []
        for lineno, rgb, depth in rows:
            rgb_path, depth_path = base / rgb, base / depth
            for path in (rgb_path, depth_path):
                if not path.is_file():
                    raise UserError(f"{csv_file}:{lineno} points to a missing file: {path}")
            pairs.append(Pair(rgb_path, depth_path, nyu_intrinsics()))
        super().__init__(pairs, base, depth_scale=depth_scale, min_depth=min_depth,
                         max_depth=max_depth, source=str(csv_file))


def _is_header(row: list[str]) -> bool:
    """A first row such as `image_path,depth_path` (names, not files): no image suffix."""
    return not any(is_image(cell) for cell in row[:2])


def _guess_root(csv_file: Path, first: str) -> Path:
    here = csv_file.parent
    if not (here / first).is_file() and (here.parent / first).is_file():
        return here.parent
    return here
