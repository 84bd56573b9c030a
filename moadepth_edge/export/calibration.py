"""Calibration images for INT8: `DIR`, `synthetic:N` or `nyu:DIR|LIST`, as model inputs.

Images go through the same preprocessing as deployment (formats.preprocess.Preprocessor,
driven by the model's artifact), so the calibrated ranges are the ranges the model will see.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ..formats.artifact import ModelArtifact
from ..errors import UserError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
SYNTHETIC_SIZE = (240, 320)


def _folder_images(folder: Path) -> Iterator[np.ndarray]:
    """8-bit colour images under `folder` (recursive, sorted), as BGR; depth maps (16-bit or
    single-channel) beside them are skipped."""
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None or image.dtype != np.uint8 or image.ndim != 3:
            continue
        yield image[..., :3]


def _nyu_images(path: Path) -> Iterator[np.ndarray]:
    from ..data.nyu import NYUSyncReader, nyu_list_in

    if path.is_dir():
        try:
            path = nyu_list_in(path, "train")
        except UserError:
            path = nyu_list_in(path, "test")
    for sample in NYUSyncReader(path):
        yield np.ascontiguousarray(sample.rgb[..., ::-1])


def _synthetic_images(count: str) -> Iterator[np.ndarray]:
    from ..data.synthetic import SyntheticReader

    try:
        n = int(count)
    except ValueError:
        raise UserError(f"synthetic calibration needs a frame count (synthetic:N), got {count!r}") from None
    for sample in SyntheticReader(n, size=SYNTHETIC_SIZE, split="train"):
        yield np.ascontiguousarray(sample.rgb[..., ::-1])


def calibration_frames(spec: str, limit: int) -> list[np.ndarray]:
    """Up to `limit` BGR uint8 frames from a calibration spec; UserError when there are none."""
    kind, _, rest = spec.partition(":")
    if kind == "synthetic" and rest:
        frames = _synthetic_images(rest)
    elif kind == "nyu" and rest:
        if not Path(rest).exists():
            raise UserError(f"NYU calibration data not found: {rest}")
        frames = _nyu_images(Path(rest))
    else:
        folder = Path(spec)
        if not folder.is_dir():
            raise UserError(f"calibration folder not found: {spec} (use DIR, synthetic:N or nyu:DIR)")
        frames = _folder_images(folder)
    out = []
    for frame in frames:
        out.append(frame)
        if len(out) >= limit:
            break
    if not out:
        raise UserError(f"no 8-bit colour images found for calibration in {spec}")
    return out


def calibration_batches(spec: str, artifact: ModelArtifact, batch_size: int,
                        max_images: int) -> list[np.ndarray]:
    """Model-input batches (per `artifact.input_kind`) of up to `max_images` calibration frames.

    Frame models take frames as they are; consecutive frames of one size share a batch.
    """
    from ..formats.preprocess import Preprocessor

    if batch_size < 1 or max_images < 1:
        raise UserError("calibration batch size and image count must be positive")
    if not artifact.dynamic_batch:
        batch_size = 1
    prep = Preprocessor(artifact)
    inputs = [prep(f) for f in calibration_frames(spec, max_images)]
    batches: list[np.ndarray] = []
    group: list[np.ndarray] = []
    for x in inputs:
        if group and (len(group) == batch_size or x.shape != group[0].shape):
            batches.append(np.concatenate(group))
            group = []
        group.append(x)
    batches.append(np.concatenate(group))
    return batches
