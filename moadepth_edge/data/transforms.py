"""Augmentations on Samples that keep image, depth, mask and intrinsics consistent.

Geometry (flip, scale-and-crop) moves depth and mask with the image (nearest-neighbour, so no
depth is invented between surfaces); photometry (colour jitter) touches the image only. The
input-size photometry (`Augment.at_input`, after the resize to the model input) gives small
renders what a real frame shrunk to the input has and they lack: fine texture and contrast.
Every random draw comes from the generator passed in, so a (seed, epoch, index) generator
makes an epoch reproducible regardless of worker count or a resume.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

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


def texture_field(shape: tuple[int, int], rng: np.random.Generator, octaves: int = 5) -> np.ndarray:
    """Image-space texture of unit std, (h, w) float32: random noise at 2, 4, 8 .. px cells,
    each octave smooth (bilinear) or blocky (nearest: edges like tiles and print), at a random
    weight. It says nothing about depth, so a model learns to look past texture."""
    h, w = shape
    out = np.zeros((h, w), np.float32)
    for i in range(octaves):
        cell = 2 ** (i + 1)
        grid = rng.standard_normal((h // cell + 2, w // cell + 2)).astype(np.float32)
        interp = cv2.INTER_NEAREST if rng.random() < 0.4 else cv2.INTER_LINEAR
        up = cv2.resize(grid, ((w // cell + 2) * cell, (h // cell + 2) * cell), interpolation=interp)
        dy, dx = (int(v) for v in rng.integers(0, cell, 2))
        out += np.float32(rng.uniform(0, 1)) * up[dy:dy + h, dx:dx + w]
    return out / max(float(out.std()), 1e-6)


def erase(rgb: np.ndarray, rng: np.random.Generator, blank: float, patch: float) -> np.ndarray:
    """With probability `blank` the whole image, else with probability `patch` one rectangle
    (10-50% of the area), becomes one random grey; the depth label stays. On what it cannot see,
    the loss teaches a model the depth the training data has there on average (near floor at the
    bottom, far walls in the middle): a prior on where things are that an unfamiliar image
    cannot switch off."""
    draw = rng.random()
    if draw >= blank + patch:
        return rgb
    out = rgb.copy()
    grey = np.uint8(rng.integers(40, 220))
    if draw < blank:
        out[:] = grey
        return out
    h, w = rgb.shape[:2]
    area, aspect = rng.uniform(0.1, 0.5) * h * w, np.exp(rng.uniform(-0.7, 0.7))
    eh, ew = min(h, int(np.sqrt(area * aspect))), min(w, int(np.sqrt(area / aspect)))
    top, left = int(rng.integers(0, h - eh + 1)), int(rng.integers(0, w - ew + 1))
    out[top:top + eh, left:left + ew] = grey
    return out


def input_photometry(rgb: np.ndarray, rng: np.random.Generator, texture: float, stretch: float,
                     grain: float, blur: float = 0.0) -> np.ndarray:
    """rgb uint8 at the model input, blurred (Gaussian sigma up to `blur` px), with image-space
    texture (multiplicative, amplitude up to `texture`), contrast stretched about the mean by up
    to `stretch` and per-pixel grey noise (std up to `grain`, in 0..1 units), each strength drawn
    uniformly from 0 (1 for stretch). Blur under random texture leaves depth to be read from the
    coarse layout, which renders and real frames share, and not from fine detail, which they don't."""
    sigma = float(rng.uniform(0, blur)) if blur > 0 else 0.0
    if sigma > 0.3:
        rgb = cv2.GaussianBlur(rgb, (0, 0), sigma)
    x = rgb.astype(np.float32) / 255.0
    if texture > 0:
        field = texture_field(x.shape[:2], rng)
        tint = (1 + rng.uniform(-0.2, 0.2, 3)).astype(np.float32)
        x = x * (1 + np.float32(rng.uniform(0, texture)) * field[..., None] * tint)
    if stretch > 1:
        mean = x.mean()
        x = (x - mean) * np.float32(rng.uniform(1, stretch)) + mean
    if grain > 0:  # luminance grain: a third of the draws of per-channel noise
        x = x + np.float32(rng.uniform(0, grain)) * rng.standard_normal((*x.shape[:2], 1), dtype=np.float32)
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


@dataclass(frozen=True)
class Augment:
    """Training augmentation. Each field is the strength; 0 (1.0 for max_scale, stretch) disables.
    __call__ works at the sample's own size, at_input after the resize to the model input."""

    flip: float = 0.5  # probability of a horizontal flip
    max_scale: float = 1.25  # zoom factor drawn from [1, max_scale]
    rescale_depth: bool = True
    brightness: float = 0.2  # factor drawn from [1 - b, 1 + b]
    contrast: float = 0.2
    saturation: float = 0.2
    gamma: float = 0.1
    texture: float = 0.0  # at the input size: image-space texture amplitude (input_photometry)
    stretch: float = 1.0  # at the input size: contrast stretch drawn from [1, stretch]
    grain: float = 0.0  # at the input size: per-pixel noise std drawn from [0, grain]
    blur: float = 0.0  # at the input size: Gaussian blur sigma drawn from [0, blur] px
    blank: float = 0.0  # at the input size: probability the whole image is erased (erase())
    patch: float = 0.0  # at the input size: probability one rectangle is erased

    def at_input(self, rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The input-size photometry, on an image already resized to the model input."""
        if self.blank > 0 or self.patch > 0:
            rgb = erase(rgb, rng, self.blank, self.patch)
        if self.texture <= 0 and self.stretch <= 1 and self.grain <= 0 and self.blur <= 0:
            return rgb
        return input_photometry(rgb, rng, self.texture, self.stretch, self.grain, self.blur)

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


# train --augment-input (run D and the bundled model in the README's real-rooms table)
INPUT_PHOTOMETRY = {"texture": 0.3, "stretch": 2.0, "grain": 0.03, "blur": 6.0, "blank": 0.15, "patch": 0.3}
NO_GEOMETRY_OR_JITTER = {"flip": 0.0, "max_scale": 1.0, "brightness": 0.0, "contrast": 0.0,
                         "saturation": 0.0, "gamma": 0.0}


def training_augment(flip_zoom_jitter: bool, at_input: bool) -> Augment | None:
    """The Augment of `train --augment` / `--augment-input` (None when neither)."""
    if not (flip_zoom_jitter or at_input):
        return None
    base = Augment() if flip_zoom_jitter else Augment(**NO_GEOMETRY_OR_JITTER)
    return replace(base, **INPUT_PHOTOMETRY) if at_input else base


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
