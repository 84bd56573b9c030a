"""Depth + pinhole intrinsics -> 3D points (camera frame: x right, y down, z forward, metres),
written as binary little-endian PLY with per-point colour."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..data.sample import Intrinsics
from ..errors import UserError
from ..outputs import write_with

_PLY_DTYPE = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"),
                       ("red", "u1"), ("green", "u1"), ("blue", "u1")])


def fov_intrinsics(width: int, height: int, hfov_deg: float = 60.0) -> Intrinsics:
    """A guess for an unknown camera: square pixels, centred, horizontal field of view `hfov_deg`."""
    f = (width / 2) / math.tan(math.radians(hfov_deg) / 2)
    return Intrinsics(f, f, width / 2, height / 2)


def _checked(values: tuple[float, ...], where: str) -> Intrinsics:
    fx, fy, cx, cy = values
    if not all(math.isfinite(v) for v in values):
        raise UserError(f"intrinsics must be finite numbers, got fx,fy,cx,cy = {fx},{fy},{cx},{cy}{where}")
    if fx <= 0 or fy <= 0:
        raise UserError(f"focal lengths must be positive, got fx={fx}, fy={fy}{where}")
    return Intrinsics(fx, fy, cx, cy)


def load_intrinsics(text: str) -> tuple[Intrinsics, tuple[int, int] | None]:
    """`fx,fy,cx,cy` (pixels of the frame) or a JSON file with fx, fy, cx, cy and optionally
    width, height (as written by moadepth_edge.data.synthetic.write_clip). Returns the
    intrinsics and the (width, height) they belong to, when known. UserError unless every
    value is finite, fx, fy > 0 and width, height are positive integers."""
    path = Path(text)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text())
            values = tuple(float(data[k]) for k in ("fx", "fy", "cx", "cy"))
            size = (data["width"], data["height"]) if "width" in data and "height" in data else None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UserError(f"cannot read intrinsics from {path}: {exc}") from None
        if size is not None:
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 1
                       and float(v).is_integer() for v in size):
                raise UserError(f"{path}: width and height must be positive integers, got {size}")
            size = (int(size[0]), int(size[1]))
        return _checked(values, f" in {path}"), size
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise UserError(f"intrinsics must be fx,fy,cx,cy in pixels or a .json file, got {text!r}")
    return _checked(values, ""), None


def backproject(
    depth: np.ndarray,
    intrinsics: Intrinsics,
    stride: int = 1,
    max_depth: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Points [N,3] float32 of the valid pixels (every `stride`-th row/col) and their (v, u)
    pixel indices [N,2]; `intrinsics` are those of `depth`'s size. Valid: finite, > 0 and
    <= max_depth when given."""
    h, w = depth.shape
    v, u = np.mgrid[0:h:stride, 0:w:stride]
    z = depth[v, u].astype(np.float32)
    ok = np.isfinite(z) & (z > 0)
    if max_depth is not None:
        ok &= z <= max_depth
    u, v, z = u[ok], v[ok], z[ok]
    # pixel (v, u) covers [u, u+1): its centre is u + 0.5, the convention of data.sample
    x = (u + 0.5 - intrinsics.cx) / intrinsics.fx * z
    y = (v + 0.5 - intrinsics.cy) / intrinsics.fy * z
    points = np.stack([x, y, z], axis=1).astype(np.float32)
    return points, np.stack([v, u], axis=1)


def write_ply(path: str | Path, points: np.ndarray, colors_rgb: np.ndarray | None = None) -> Path:
    """Write points [N,3] (and uint8 RGB colours [N,3]) as binary little-endian PLY, atomically
    (WriteFailed naming the file on any failure)."""
    path = Path(path)
    data = np.empty(len(points), _PLY_DTYPE)
    data["x"], data["y"], data["z"] = points[:, 0], points[:, 1], points[:, 2]
    if colors_rgb is None:
        colors_rgb = np.full((len(points), 3), 255, np.uint8)
    data["red"], data["green"], data["blue"] = colors_rgb[:, 0], colors_rgb[:, 1], colors_rgb[:, 2]
    header = (
        "ply\nformat binary_little_endian 1.0\ncomment moadepth-edge\n"
        f"element vertex {len(points)}\n"
        "property float x\nproperty float y\nproperty float z\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n"
    )

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write(header.encode("ascii"))
            fh.write(data.tobytes())

    return write_with(path, write)


def read_ply(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a PLY written by `write_ply`: (points [N,3] float32, colours [N,3] uint8)."""
    raw = Path(path).read_bytes()
    end = raw.find(b"end_header\n")
    if not raw.startswith(b"ply\n") or end < 0:
        raise UserError(f"{path} is not a PLY file")
    header = raw[:end].decode("ascii").splitlines()
    if "format binary_little_endian 1.0" not in header:
        raise UserError(f"{path}: only binary little-endian PLY files from write_ply are read")
    count = next(int(line.split()[2]) for line in header if line.startswith("element vertex"))
    data = np.frombuffer(raw, _PLY_DTYPE, count=count, offset=end + len(b"end_header\n"))
    points = np.stack([data["x"], data["y"], data["z"]], axis=1)
    colors = np.stack([data["red"], data["green"], data["blue"]], axis=1)
    return points, colors


def frame_to_ply(
    path: str | Path,
    depth: np.ndarray,
    frame_bgr: np.ndarray,
    intrinsics: Intrinsics,
    stride: int = 1,
    max_depth: float | None = None,
) -> Path:
    """Back-project one frame's depth and write it coloured by the frame."""
    points, vu = backproject(depth, intrinsics, stride, max_depth)
    colors = frame_bgr[vu[:, 0], vu[:, 1], ::-1]
    return write_ply(path, points, colors)
