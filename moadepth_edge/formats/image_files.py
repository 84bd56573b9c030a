"""Which files are images: one suffix list for sources, data readers and calibration."""
from __future__ import annotations

from pathlib import Path

# what OpenCV's imread decodes in every build we ship against
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def is_image(path: str | Path) -> bool:
    """True for a file name with an image suffix (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def image_files(folder: Path, recursive: bool = False, prefix: str = "") -> list[Path]:
    """The image files in `folder` (and below, if `recursive`) whose names start with `prefix`,
    sorted by path."""
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if is_image(p) and p.name.startswith(prefix) and p.is_file())
