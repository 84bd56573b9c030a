"""The synthetic pinhole camera: a pose in the room and the rays of its pixels.

World axes: x right, y up, z forward into the room (the floor is y = 0). Cameras use OpenCV
axes (x right, y down, z forward); a ray's camera-z component is 1, so the hit parameter t of
a ray *is* the depth a depth sensor reports.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .sample import Intrinsics, nyu_intrinsics


@dataclass(frozen=True)
class Camera:
    """A pinhole camera in the room: position (x, y, z) metres, yaw (left/right), pitch
    (positive looks up) and roll (about the optical axis) in radians; yaw 0 looks down +z."""

    position: tuple[float, float, float]
    yaw: float
    pitch: float
    roll: float = 0.0


def rotation(yaw: float, pitch: float, roll: float = 0.0) -> np.ndarray:
    """Camera (OpenCV axes) -> world (y up) rotation."""
    flip = np.diag([1.0, -1.0, 1.0])  # camera y points down, world y up
    cr, sr = np.cos(roll), np.sin(roll)
    roll_m = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    cp, sp = np.cos(pitch), np.sin(pitch)
    pitch_m = np.array([[1, 0, 0], [0, cp, sp], [0, -sp, cp]])  # positive pitch looks up (world y)
    cy, sy = np.cos(yaw), np.sin(yaw)
    yaw_m = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    return (yaw_m @ pitch_m @ flip @ roll_m).astype(np.float32)


def camera_rays(camera: Camera, size: tuple[int, int], intrinsics: Intrinsics | None = None) -> np.ndarray:
    """World directions (H*W, 3) of the pixel centres of an (H, W) frame, camera-z component 1."""
    h, w = size
    k = intrinsics or nyu_intrinsics(h, w)
    u, v = np.meshgrid(np.arange(w, dtype=np.float32) + 0.5, np.arange(h, dtype=np.float32) + 0.5)
    rays = np.stack([(u - k.cx) / k.fx, (v - k.cy) / k.fy, np.ones_like(u)], axis=-1).reshape(-1, 3)
    return rays @ rotation(camera.yaw, camera.pitch, camera.roll).T
