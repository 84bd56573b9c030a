"""Frames in, model batches out, depth back at the frame's size, all per the model's artifact.

The runtime never uses preprocessing constants of its own: size, colour order, scale and the
resize filter come from the model's PreprocessCfg; mean/std normalisation is inside the graph.
A "frame" model (exported with the preprocessing embedded) takes the raw BGR frame.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..formats.artifact import ModelArtifact
from ..errors import UserError

_RESIZE = {"bilinear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA}


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
        if pre.color != "RGB" or pre.layout != "NCHW":
            raise UserError(f"unsupported model input {pre.color}/{pre.layout}; re-export the model")
        self.size = tuple(pre.size)  # (height, width)
        self.scale = np.float32(pre.scale)
        self.interp = _RESIZE[pre.resize]

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        frame = as_bgr(frame)
        if self.artifact.input_kind == "frame":
            return np.ascontiguousarray(frame[None])
        h, w = self.size
        if frame.shape[:2] != (h, w):
            frame = cv2.resize(frame, (w, h), interpolation=self.interp)
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        chw = rgb.transpose(2, 0, 1).astype(np.float32)
        chw *= self.scale
        return chw[None]


def depth_to_frame(depth: np.ndarray, frame_hw: tuple[int, int]) -> np.ndarray:
    """One model output [1,1,h,w] (or [h,w]) -> HxW float32 metres at the frame's size."""
    d = np.asarray(depth, dtype=np.float32)
    while d.ndim > 2:
        d = d[0]
    h, w = frame_hw
    if d.shape != (h, w):
        d = cv2.resize(d, (w, h), interpolation=cv2.INTER_LINEAR)
    return d
