"""The record every reader returns, and the reader protocol.

A `Sample` is what a depth data set holds for one frame: RGB uint8 HxWx3, depth float32 in
metres (0 where invalid), a boolean validity mask, and the camera intrinsics where known.
Readers are random-access sequences of samples; they never import torch.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..config import NYU_INTRINSICS, NYU_SIZE  # noqa: F401  NYU's Kinect colour camera, 640x480


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels for the frame they come with."""

    fx: float
    fy: float
    cx: float
    cy: float

    def scaled(self, sx: float, sy: float) -> Intrinsics:
        """The intrinsics of the frame resized by (sx, sy) (new size / old size)."""
        return Intrinsics(self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy)

    def cropped(self, top: int, left: int) -> Intrinsics:
        """The intrinsics of a crop whose top-left corner is (top, left)."""
        return Intrinsics(self.fx, self.fy, self.cx - left, self.cy - top)

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.fx, self.fy, self.cx, self.cy)


def nyu_intrinsics(height: int = 480, width: int = 640, focal: float | None = None) -> Intrinsics:
    """NYU's colour camera scaled to (height, width); `focal` (a BTS list's column) sets fx."""
    fx, fy, cx, cy = NYU_INTRINSICS
    if focal is not None:
        fy, fx = fy * focal / fx, focal
    return Intrinsics(fx, fy, cx, cy).scaled(width / NYU_SIZE[1], height / NYU_SIZE[0])


@dataclass
class Sample:
    """One RGB-D frame. depth is 0 wherever `valid` is False."""

    rgb: np.ndarray  # HxWx3 uint8, RGB order
    depth: np.ndarray  # HxW float32, metres
    valid: np.ndarray  # HxW bool
    intrinsics: Intrinsics | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if self.rgb.ndim != 3 or self.rgb.shape[2] != 3 or self.rgb.dtype != np.uint8:
            raise ValueError(f"rgb must be HxWx3 uint8, got {self.rgb.dtype} {self.rgb.shape}")
        if self.depth.shape != self.rgb.shape[:2] or self.valid.shape != self.depth.shape:
            raise ValueError(
                f"{self.name}: depth {self.depth.shape} / mask {self.valid.shape} do not match "
                f"rgb {self.rgb.shape[:2]}"
            )


def validity_mask(depth: np.ndarray, min_depth: float = 1e-3, max_depth: float | None = None) -> np.ndarray:
    """Valid = finite and strictly inside (min_depth, max_depth); 0 / NaN / inf are invalid."""
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(depth) & (depth > min_depth)
        if max_depth is not None:
            valid &= depth < max_depth
    return valid


def make_sample(
    rgb: np.ndarray,
    depth: np.ndarray,
    *,
    min_depth: float = 1e-3,
    max_depth: float | None = None,
    intrinsics: Intrinsics | None = None,
    name: str = "",
) -> Sample:
    """A Sample with the mask computed from the depth range and invalid depth zeroed."""
    depth = np.asarray(depth, dtype=np.float32)
    valid = validity_mask(depth, min_depth, max_depth)
    depth = np.where(valid, depth, np.float32(0.0)).astype(np.float32, copy=False)
    return Sample(rgb=rgb, depth=depth, valid=valid, intrinsics=intrinsics, name=name)


class DepthReader(ABC):
    """A random-access data set of Samples (indexing, len, iteration)."""

    #: human-readable kind, e.g. "nyu-sync"
    kind: str = "depth"

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def load(self, index: int) -> Sample:
        """The sample at `index` (0 <= index < len)."""

    def __getitem__(self, index: int) -> Sample:
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"index {index} out of range for {n} samples")
        return self.load(index)

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self.load(i)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} samples)"
