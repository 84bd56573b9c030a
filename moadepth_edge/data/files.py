"""Reading image and depth files, with errors that name the file instead of a traceback."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import UserError, WriteFailed
from ..outputs import write_bytes


def read_rgb(path: str | Path) -> np.ndarray:
    """An image file as RGB uint8 HxWx3 (grey and 16-bit images are converted)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"image not found: {path}")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise UserError(f"cannot decode image (corrupt or not an image): {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_depth(path: str | Path, scale: float) -> np.ndarray:
    """A depth map in metres: a 16-bit PNG (or any single-channel image) or a .npy array,
    divided by `scale` (file units per metre: 1000 for mm, 256 for KITTI, 1 for metres)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"depth file not found: {path}")
    if path.suffix.lower() == ".npy":
        try:
            raw = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise UserError(f"cannot read depth array {path}: {exc}") from None
    else:
        raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if raw is None:
            raise UserError(f"cannot decode depth image (corrupt or not an image): {path}")
    raw = np.squeeze(raw)
    if raw.ndim != 2:
        raise UserError(f"depth file must hold one channel, got shape {raw.shape}: {path}")
    return raw.astype(np.float32) / np.float32(scale)


def write_depth_png(path: str | Path, depth_m: np.ndarray, scale: float = 1000.0) -> None:
    """Write metres as a uint16 PNG in units of 1/scale m (default millimetres); 0 = invalid.
    Atomic: the file appears complete or not at all; any failure is WriteFailed(path)."""
    units = np.nan_to_num(np.asarray(depth_m, dtype=np.float64) * scale, nan=0.0)
    units = np.clip(np.rint(units), 0, 65535).astype(np.uint16)
    ok, encoded = cv2.imencode(".png", units)
    if not ok:
        raise WriteFailed(path, "the PNG encoder refused it")
    write_bytes(path, encoded.tobytes())


def read_list_file(path: str | Path, min_columns: int = 2) -> list[list[str]]:
    """A whitespace-separated list file (BTS style `rgb depth focal`), blank lines and
    `#` comments skipped. Each row has at least `min_columns` fields."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"list file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a text list of `rgb depth [focal]` lines (an image or other binary file?)") from None
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) < min_columns:
            raise UserError(f"{path}:{lineno}: expected at least {min_columns} columns, got {line!r}")
        rows.append(fields)
    if not rows:
        raise UserError(f"list file is empty: {path}")
    return rows


def resolve(root: Path, rel: str, listed_in: Path, lineno: int | None = None) -> Path:
    """`rel` under `root` (a leading '/' as in BTS's NYU train list is relative too);
    missing files are reported with the list file that names them."""
    path = root / rel.lstrip("/")
    if not path.is_file():
        where = f"{listed_in}:{lineno}" if lineno is not None else str(listed_in)
        raise UserError(f"{where} points to a missing file: {path}")
    return path
