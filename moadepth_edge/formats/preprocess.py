"""The one preprocessing definition: an image becomes the model's input tensor here, for
training, `eval`, INT8 calibration, the runtime and `bench` alike; depth goes back to the
image's size here too.

The rule, from the model's PreprocessCfg (never constants of our own): resize to `size` with
bilinear interpolation at half-pixel centres and no antialiasing - the one filter that OpenCV
(INTER_LINEAR), the ONNX graph of a frame-input export (Resize linear, half_pixel) and TensorRT
all compute the same way - then RGB, scaled by `scale` to [0, 1], NCHW float32. mean/std are
applied inside the model. A "frame" model (preprocessing embedded) takes the raw BGR frame.
`input_focal` carries a camera's focal length through the same geometry (metric scale).
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from ..config import PreprocessCfg
from ..errors import UserError
from .artifact import ModelArtifact

RESIZE_FILTER = cv2.INTER_LINEAR  # bilinear, half-pixel centres: OpenCV = ONNX Resize = TensorRT


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` (HxWxC uint8) at `size` (height, width) by the one resize rule."""
    h, w = size
    if image.shape[:2] == (h, w):
        return image
    return cv2.resize(image, (w, h), interpolation=RESIZE_FILTER)


def input_focal(fx: float, fy: float, frame_hw: tuple[int, int], pre: PreprocessCfg,
                crop: tuple[int, int, int, int] | None = None) -> tuple[float, float]:
    """A camera's focal lengths in pixels of a `frame_hw` (height, width) frame -> the same in
    the model input's pixels, through the geometry the preprocessing applies: the region
    `crop` (top, left, height, width; default: the whole frame) resized to `pre.size`. A crop
    moves the principal point, never the focal; the resize multiplies fx by the width ratio
    and fy by the height ratio (bilinear at half-pixel centres maps x to (x + 0.5)·s - 0.5, so a
    length scales by s exactly)."""
    fh, fw = frame_hw
    top, left, ch, cw = crop if crop is not None else (0, 0, fh, fw)
    if not (0 <= top and 0 <= left and ch >= 1 and cw >= 1 and top + ch <= fh and left + cw <= fw):
        raise ValueError(f"crop {crop} does not lie inside the {fw}x{fh} frame")
    h, w = pre.size
    return fx * w / cw, fy * h / ch


def focal_ratio(camera: tuple[float, float], reference: tuple[float, float]) -> float:
    """camera's focal / reference's focal, both (fx, fy) in the same (model input) pixels: the
    geometric mean of the x and y ratios (they differ only when a resize changes the aspect)."""
    return math.sqrt((camera[0] / reference[0]) * (camera[1] / reference[1]))


def rgb_to_input(rgb: np.ndarray, pre: PreprocessCfg) -> np.ndarray:
    """An RGB uint8 image (any size) -> the model input [3, H, W] float32 (resized, scaled)."""
    chw = resize_image(rgb, tuple(pre.size)).transpose(2, 0, 1).astype(np.float32)
    chw *= np.float32(pre.scale)
    return chw


def as_bgr(frame: np.ndarray) -> np.ndarray:
    """A uint8 HxWx3 BGR view of `frame` (grey and BGRA frames are converted)."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        got = frame.dtype if isinstance(frame, np.ndarray) else type(frame).__name__
        raise UserError(f"a frame must be a uint8 numpy image, got {got}")
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    if frame.ndim == 3 and frame.shape[2] == 3:
        return frame
    raise UserError(f"a frame must be HxW, HxWx3 or HxWx4, got shape {frame.shape}")


class Preprocessor:
    """Callable: BGR uint8 frame -> a batch of one that the model's backend accepts."""

    def __init__(self, artifact: ModelArtifact) -> None:
        self.artifact = artifact
        pre = artifact.preprocess
        if pre.color != "RGB" or pre.layout != "NCHW" or pre.resize != "bilinear":
            raise UserError(f"unsupported model input {pre.color}/{pre.layout}/{pre.resize}; re-export the model")
        self.pre = pre

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        frame = as_bgr(frame)
        if self.artifact.input_kind == "frame":
            return np.ascontiguousarray(frame[None])
        return rgb_to_input(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), self.pre)[None]


def depth_to_frame(depth: np.ndarray, frame_hw: tuple[int, int]) -> np.ndarray:
    """One model output [1,1,h,w] (or [h,w]) -> HxW float32 metres at the frame's size
    (bilinear, the same rule as the input's resize)."""
    d = np.asarray(depth, dtype=np.float32)
    while d.ndim > 2:
        d = d[0]
    h, w = frame_hw
    if d.shape != (h, w):
        d = cv2.resize(d, (w, h), interpolation=RESIZE_FILTER)
    return d
