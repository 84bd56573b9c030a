"""Calibration images for INT8 (`DIR`, `synthetic:N`, `nyu:DIR|LIST`: data/spec.py), as model inputs.

Images go through the same preprocessing as deployment (formats.preprocess.Preprocessor,
driven by the model's artifact), so the calibrated ranges are the ranges the model will see.
"""
from __future__ import annotations

import itertools

import numpy as np

from ..data.spec import iter_images
from ..errors import UserError
from ..formats.artifact import ModelArtifact

def calibration_frames(spec: str, limit: int) -> list[np.ndarray]:
    """Up to `limit` BGR uint8 frames from a calibration spec (data/spec.py: `DIR`,
    `synthetic:N`, `nyu:DIR|LIST`, any `--data` spec); UserError when there are none."""
    try:
        images = iter_images(spec, "train")
    except UserError:
        if not spec.startswith("nyu:"):
            raise
        images = iter_images(spec, "test")  # a NYU folder with a test list only
    out = [np.ascontiguousarray(rgb[..., ::-1]) for rgb in itertools.islice(images, limit)]
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
