"""Depth in metres through the stream's own camera: the one place the runtime applies the
canonical-camera rule (formats/camera.py). One `MetricScale` per stream: built from the model's
config and the user's intrinsics (or none), it scales each frame's depth in postprocessing by
f_camera / f_training, both focals in model input pixels. Without user intrinsics a frame's own
camera (a rosbag2's camera_info) is used; without either, depth stays in the training camera's
scale and `summary()` says so.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..config import ModelCfg
from ..data.sample import Intrinsics
from ..formats.camera import depth_scale, training_camera_text
from ..errors import UserError
from ..data.camera_files import Size, at_frame_size, load_intrinsics


def camera_arg(value: Any) -> tuple[Intrinsics | None, Size | None]:
    """The forms the Python API takes as `intrinsics`: None, "fx,fy,cx,cy" or a calibration
    file (str / Path), an Intrinsics, (fx, fy, cx, cy), or (Intrinsics, (width, height))."""
    if value is None:
        return None, None
    if isinstance(value, Intrinsics):
        return value, None
    if isinstance(value, str) or hasattr(value, "__fspath__"):
        return load_intrinsics(str(value))
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], Intrinsics):
        return value[0], (int(value[1][0]), int(value[1][1]))
    try:
        fx, fy, cx, cy = (float(v) for v in value)
    except (TypeError, ValueError):
        raise UserError(f"intrinsics must be fx,fy,cx,cy, a calibration file or an Intrinsics, got {value!r}") from None
    return load_intrinsics(f"{fx},{fy},{cx},{cy}")


class MetricScale:
    """Scales one stream's depth to its camera. `intrinsics` belong to frames of `size`
    (width, height; None: to the frames that arrive); `origin` names them in the summary."""

    def __init__(self, model_cfg: ModelCfg, intrinsics: Intrinsics | None = None,
                 size: Size | None = None, origin: str = "intrinsics") -> None:
        self.cfg, self.intrinsics, self.size, self.origin = model_cfg, intrinsics, size, origin
        self._cache: dict[tuple[Any, ...], tuple[float, Intrinsics, str]] = {}
        self.last: tuple[float, Intrinsics, str] | None = None  # factor, camera, where from

    def factor(self, frame_hw: tuple[int, int], camera: Any = None) -> float | None:
        """The factor for a frame of `frame_hw` (height, width) whose source knows `camera`
        (a CameraModel, or None); None when no camera is known at all."""
        h, w = frame_hw
        if self.intrinsics is not None:
            key: tuple[Any, ...] = ("user", h, w)
        elif camera is not None:
            key = ("frame", h, w, camera.intrinsics, camera.size)
        else:
            return None
        if key not in self._cache:
            if self.intrinsics is not None:
                k, origin = at_frame_size(self.intrinsics, self.size, (w, h)), self.origin
            else:
                k, origin = at_frame_size(camera.intrinsics, camera.size, (w, h)), "the source's camera_info"
            self._cache[key] = (depth_scale(self.cfg, k.fx, k.fy, (h, w)), k, origin)
        self.last = self._cache[key]
        return self.last[0]

    def __call__(self, depth: np.ndarray, frame_hw: tuple[int, int], camera: Any = None) -> np.ndarray:
        """`depth` (metres in the training camera's scale) in metres for this camera."""
        f = self.factor(frame_hw, camera)
        return depth if f is None or f == 1.0 else depth * np.float32(f)

    def summary(self) -> str:
        """One line: which scale the stream's depth is in."""
        train = training_camera_text(self.cfg)
        if self.last is None and self.intrinsics is not None:
            return f"metric scale: no frame reached it ({self.origin} given; training camera: {train})"
        if self.last is None:
            return (f"metric scale: no camera intrinsics, so depth is in the training camera's scale "
                    f"({train}); give --intrinsics for metres through another lens")
        f, k, origin = self.last
        return (f"metric scale: depth x{f:.3f} for the camera's focal (fx {k.fx:.1f} fy {k.fy:.1f} px, "
                f"from {origin}) against the training camera's ({train})")
