"""Camera intrinsics as users have them: `fx,fy,cx,cy`, or a calibration file.

Files read:
- JSON with fx, fy, cx, cy (and width, height), as `write_clip`'s intrinsics.json;
- OpenCV calibration (`camera_matrix` / `cameraMatrix` / `K`, optional image_width and
  image_height) in the YAML, JSON or XML that cv2.FileStorage writes, read with cv2.FileStorage;
- a ROS camera_info YAML (camera_calibration_parsers: image_width, image_height,
  camera_matrix {rows, cols, data}), or a dumped CameraInfo message (width, height, k: [9]).
  ROS YAML has no `%YAML:1.0` line, so cv2.FileStorage cannot read it: PyYAML does (safe_load).

Every mistake is one UserError naming the file and what is wrong. `at_frame_size` fits the
intrinsics to the frames that arrive (scaled at the same aspect ratio, refused otherwise).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .._lazy import lazy_import
from .sample import Intrinsics
from ..errors import UserError

Size = tuple[int, int]  # (width, height)
_MATRIX_KEYS = ("camera_matrix", "cameraMatrix", "K")
_FORMS = ("fx,fy,cx,cy in pixels, or a calibration file: intrinsics .json, OpenCV .yaml/.json/.xml "
          "with camera_matrix, or a ROS camera_info .yaml")
ASPECT_TOLERANCE = 0.01


def _checked(values: tuple[float, ...], where: str) -> Intrinsics:
    fx, fy, cx, cy = values
    if not all(math.isfinite(v) for v in values):
        raise UserError(f"intrinsics must be finite numbers, got fx,fy,cx,cy = {fx},{fy},{cx},{cy}{where}")
    if fx <= 0 or fy <= 0:
        raise UserError(f"focal lengths must be positive, got fx={fx}, fy={fy}{where}")
    return Intrinsics(fx, fy, cx, cy)


def _size(width: Any, height: Any, path: Path) -> Size | None:
    if width is None and height is None:
        return None
    size = (width, height)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 1 and float(v).is_integer()
               for v in size):
        raise UserError(f"{path}: width and height must be positive integers, got {size}")
    return int(width), int(height)


def _from_matrix(k: Any, path: Path) -> Intrinsics:
    try:
        m = np.asarray(k, dtype=np.float64).reshape(3, 3)
    except (ValueError, TypeError):
        raise UserError(f"{path}: the camera matrix must be 3x3 numbers") from None
    if not math.isclose(m[2, 2], 1.0, rel_tol=1e-6) or m[2, 0] != 0 or m[2, 1] != 0:
        raise UserError(f"{path}: not a pinhole camera matrix (its last row must be 0 0 1)")
    return _checked((m[0, 0], m[1, 1], m[0, 2], m[1, 2]), f" in {path}")


def _opencv_problem(exc: BaseException) -> str:
    # cv2.error carries OpenCV's own short reason in .err; the Python binding sometimes
    # surfaces a parse failure as a bare SystemError instead
    reason = getattr(exc, "err", None)
    return f"malformed ({' '.join(str(reason).split())[:120]})" if reason else "malformed"


def _read_opencv(path: Path) -> tuple[Intrinsics, Size | None]:
    try:
        fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
    except (cv2.error, SystemError) as exc:
        raise UserError(f"cannot read {path} as an OpenCV calibration file: {_opencv_problem(exc)}") from None
    try:
        if not fs.isOpened():
            raise UserError(f"cannot read {path} as an OpenCV calibration file")
        node = next((fs.getNode(k) for k in _MATRIX_KEYS if not fs.getNode(k).empty()), None)
        matrix = node.mat() if node is not None else None
        if matrix is None:
            raise UserError(f"{path}: no camera matrix ({', '.join(_MATRIX_KEYS)}) in this OpenCV file")

        def number(name: str) -> Any:
            n = fs.getNode(name)
            return None if n.empty() else n.real()

        size = _size(number("image_width"), number("image_height"), path)
        return _from_matrix(matrix, path), size
    except (cv2.error, SystemError) as exc:
        raise UserError(f"cannot read {path} as an OpenCV calibration file: {_opencv_problem(exc)}") from None
    finally:
        fs.release()


def _read_ros(path: Path, text: str) -> tuple[Intrinsics, Size | None]:
    yaml = lazy_import("yaml")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserError(f"{path} is not valid YAML: {' '.join(str(exc).split())[:200]}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a ROS camera_info YAML mapping")
    if isinstance(data.get("camera_matrix"), dict):  # camera_calibration_parsers
        k = data["camera_matrix"].get("data")
        size = _size(data.get("image_width"), data.get("image_height"), path)
    elif "k" in data:  # a CameraInfo message as `ros2 topic echo` prints it
        k = data["k"]
        size = _size(data.get("width"), data.get("height"), path)
    else:
        raise UserError(f"{path}: no camera_matrix (ROS camera_info YAML) or k (CameraInfo) in it")
    return _from_matrix(k, path), size


def _read_json(path: Path, text: str) -> tuple[Intrinsics, Size | None]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UserError(f"{path} is not valid JSON: {exc}") from None
    if isinstance(data, dict) and any(k in data for k in _MATRIX_KEYS):
        return _read_opencv(path)  # cv2.FileStorage's JSON
    if not isinstance(data, dict) or not all(k in data for k in ("fx", "fy", "cx", "cy")):
        raise UserError(f"{path}: expected fx, fy, cx, cy (and width, height), or an OpenCV camera_matrix")
    try:
        values = tuple(float(data[k]) for k in ("fx", "fy", "cx", "cy"))
    except (TypeError, ValueError):
        raise UserError(f"{path}: fx, fy, cx, cy must be numbers") from None
    return _checked(values, f" in {path}"), _size(data.get("width"), data.get("height"), path)


def load_intrinsics(text: str) -> tuple[Intrinsics, Size | None]:
    """`fx,fy,cx,cy` (pixels of the frame) or a calibration file (see the module) -> the
    intrinsics and the (width, height) they belong to, when known. UserError (one line) unless
    every value is finite, fx, fy > 0 and width, height are positive integers."""
    path = Path(text)
    suffix = path.suffix.lower()
    if suffix in (".json", ".yaml", ".yml", ".xml"):
        try:
            raw = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read intrinsics from {path}: {getattr(exc, 'strerror', None) or exc}") from None
        if suffix == ".json":
            return _read_json(path, raw)
        if suffix == ".xml" or raw.lstrip().startswith("%YAML"):
            return _read_opencv(path)
        return _read_ros(path, raw)
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise UserError(f"--intrinsics must be {_FORMS}; got {text!r}")
    return _checked(values, ""), None


def at_frame_size(intrinsics: Intrinsics, size: Size | None, frame_wh: Size) -> Intrinsics:
    """`intrinsics` (of `size` frames; None: of these frames) for frames of `frame_wh`:
    scaled when only the resolution differs, UserError when the aspect ratio does too (a
    crop or another sensor mode: the calibration does not describe these pixels)."""
    w, h = frame_wh
    if size is None:
        if not (0 <= intrinsics.cx <= w and 0 <= intrinsics.cy <= h):
            raise UserError(f"the principal point ({intrinsics.cx:g}, {intrinsics.cy:g}) lies outside the "
                            f"{w}x{h} frames: intrinsics for another resolution? Give a calibration file "
                            "with its image size")
        return intrinsics
    w0, h0 = size
    if (w0, h0) == (w, h):
        return intrinsics
    if abs((w / h) / (w0 / h0) - 1) > ASPECT_TOLERANCE:
        raise UserError(f"the calibration is for {w0}x{h0} frames but the frames are {w}x{h}, another "
                        "aspect ratio: calibrate at this resolution or capture at "
                        f"{w0}x{h0} (--width/--height)")
    return intrinsics.scaled(w / w0, h / h0)
