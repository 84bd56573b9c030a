"""Augmentations on Samples that keep image, depth, mask and intrinsics consistent.

Geometry (flip, scale-and-crop) moves depth and mask with the image (nearest-neighbour, so no
depth is invented between surfaces); photometry (colour jitter) touches the image only.
Every random draw comes from the generator passed in, so a (seed, epoch, index) generator
makes an epoch reproducible regardless of worker count or a resume.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..formats.preprocess import resize_image
from .sample import Sample


def hflip(sample: Sample) -> Sample:
    """Mirror left-right; the principal point mirrors too."""
    k = sample.intrinsics
    w = sample.depth.shape[1]
    if k is not None:
        k = type(k)(k.fx, k.fy, w - k.cx, k.cy)
    return Sample(
        np.ascontiguousarray(sample.rgb[:, ::-1]), np.ascontiguousarray(sample.depth[:, ::-1]),
        np.ascontiguousarray(sample.valid[:, ::-1]), k, sample.name,
    )


def scale_crop(sample: Sample, scale: float, top: int, left: int, rescale_depth: bool = True) -> Sample:
    """Zoom in by `scale` (>= 1) and crop back to the original size at (top, left).

    rescale_depth: a zoom by s looks like the scene s times closer through the same lens, so
    depth is divided by s and the intrinsics stay those of the original camera; without it
    depth is kept and the intrinsics describe the zoomed crop.
    """
    h, w = sample.depth.shape
    sh, sw = int(round(h * scale)), int(round(w * scale))
    rgb = cv2.resize(sample.rgb, (sw, sh), interpolation=cv2.INTER_LINEAR)[top:top + h, left:left + w]
    depth = cv2.resize(sample.depth, (sw, sh), interpolation=cv2.INTER_NEAREST)[top:top + h, left:left + w]
    valid = cv2.resize(sample.valid.astype(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST)
    valid = valid[top:top + h, left:left + w].astype(bool)
    k = sample.intrinsics
    if rescale_depth:
        depth = depth / np.float32(scale)
    elif k is not None:
        k = k.scaled(sw / w, sh / h).cropped(top, left)
    return Sample(np.ascontiguousarray(rgb), np.ascontiguousarray(depth), valid, k, sample.name)


def color_jitter(rgb: np.ndarray, brightness: float, contrast: float, saturation: float,
                 gamma: float) -> np.ndarray:
    """Multiplicative brightness, contrast about the mean, saturation about grey, then gamma."""
    x = rgb.astype(np.float32) / 255.0
    x = x * brightness
    x = (x - x.mean()) * contrast + x.mean()
    grey = x.mean(axis=2, keepdims=True)
    x = (x - grey) * saturation + grey
    x = np.power(np.clip(x, 0, 1), gamma)
    return (x * 255 + 0.5).astype(np.uint8)


@dataclass(frozen=True)
class Augment:
    """Training augmentation. Each field is the strength; 0 (or 1.0 for max_scale) disables."""

    flip: float = 0.5  # probability of a horizontal flip
    max_scale: float = 1.25  # zoom factor drawn from [1, max_scale]
    rescale_depth: bool = True
    brightness: float = 0.2  # factor drawn from [1 - b, 1 + b]
    contrast: float = 0.2
    saturation: float = 0.2
    gamma: float = 0.1

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if rng.random() < self.flip:
            sample = hflip(sample)
        if self.max_scale > 1.0:
            s = float(rng.uniform(1.0, self.max_scale))
            h, w = sample.depth.shape
            top = int(rng.integers(0, int(round(h * s)) - h + 1))
            left = int(rng.integers(0, int(round(w * s)) - w + 1))
            sample = scale_crop(sample, s, top, left, self.rescale_depth)
        if any((self.brightness, self.contrast, self.saturation, self.gamma)):
            def draw(x: float) -> float:
                return float(rng.uniform(1 - x, 1 + x))

            rgb = color_jitter(sample.rgb, draw(self.brightness), draw(self.contrast),
                               draw(self.saturation), draw(self.gamma))
            sample = Sample(rgb, sample.depth, sample.valid, sample.intrinsics, sample.name)
        return sample


def resize_sample(sample: Sample, size: tuple[int, int]) -> Sample:
    """Resize to (height, width): the image by the one preprocessing rule (as deployed), depth
    and mask nearest-neighbour (no depth invented between surfaces)."""
    h, w = sample.depth.shape
    if (h, w) == tuple(size):
        return sample
    th, tw = size
    rgb = resize_image(sample.rgb, (th, tw))
    depth = cv2.resize(sample.depth, (tw, th), interpolation=cv2.INTER_NEAREST)
    valid = cv2.resize(sample.valid.astype(np.uint8), (tw, th), interpolation=cv2.INTER_NEAREST).astype(bool)
    k = sample.intrinsics.scaled(tw / w, th / h) if sample.intrinsics is not None else None
    return Sample(rgb, depth, valid, k, sample.name)
