"""Where depth goes: a window, a side-by-side video, depth files, point clouds.

Every sink writes one frame at a time and must be closed (the pipeline closes them on every
exit path), so a run that stops early still leaves playable video and complete files.
"""
from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from ..errors import UserError
from ..data.files import read_depth, write_depth_png
from ..data.sample import Intrinsics
from .frame_meta import FrameMeta
from .pointcloud import fov_intrinsics, frame_to_ply

log = logging.getLogger("moadepth_edge.runtime")

DEPTH_FORMATS = ("png", "npy")
PNG_SCALE = 1000.0  # 16-bit PNG depth is in millimetres (0 = no depth), the NYU/BTS convention


@dataclass
class Result:
    """One processed frame as the sinks see it."""

    index: int
    image: np.ndarray  # BGR uint8, the source frame
    depth: np.ndarray  # HxW float32 metres at the frame's size
    latency_s: float = 0.0  # capture -> depth ready
    fps: float = 0.0  # recent end-to-end throughput
    canvas: np.ndarray | None = field(default=None, repr=False)  # frame | coloured depth
    meta: FrameMeta | None = None  # the frame's header: stamp, frame_id, camera (frame_meta.py)


class Sink:
    """Base sink. `needs_canvas`: it shows or saves the side-by-side picture."""

    needs_canvas = False
    stop_requested = False  # a window sink sets it when the user presses q / Esc

    def write(self, result: Result) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class VideoSink(Sink):
    """The side-by-side canvas to a video file (mp4v), one output frame per processed frame."""

    needs_canvas = True

    def __init__(self, path: str | Path, fps: float = 30.0, fourcc: str = "mp4v") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fps = fps
        self.fourcc = fourcc
        self.writer: cv2.VideoWriter | None = None
        self.size: tuple[int, int] | None = None
        self.frames = 0

    def write(self, result: Result) -> None:
        canvas = result.canvas
        if self.writer is None:
            h, w = canvas.shape[:2]
            self.size = (w - w % 2, h - h % 2)  # most codecs want even sizes
            self.writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter.fourcc(*self.fourcc),
                                          float(self.fps), self.size)
            if not self.writer.isOpened():
                self.writer = None
                raise UserError(f"cannot write video {self.path} (codec {self.fourcc!r} unavailable?)")
        if (canvas.shape[1], canvas.shape[0]) != self.size:
            canvas = cv2.resize(canvas, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(canvas)
        self.frames += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()  # writes the index: the file plays from here on
            self.writer = None


class DepthSink(Sink):
    """Depth files per frame, named by frame index: 16-bit PNG millimetres and/or .npy metres."""

    def __init__(self, folder: str | Path, formats: Iterable[str] = ("png",)) -> None:
        self.folder = Path(folder)
        self.formats = tuple(formats)
        bad = [f for f in self.formats if f not in DEPTH_FORMATS]
        if bad or not self.formats:
            raise UserError(f"depth formats must be among {', '.join(DEPTH_FORMATS)}, got {self.formats}")
        self.folder.mkdir(parents=True, exist_ok=True)

    def write(self, result: Result) -> None:
        stem = self.folder / f"{result.index:06d}"
        if "png" in self.formats:
            write_depth_png(stem.with_suffix(".png"), result.depth, PNG_SCALE)
        if "npy" in self.formats:
            np.save(stem.with_suffix(".npy"), result.depth.astype(np.float32))


class PointCloudSink(Sink):
    """A coloured PLY per frame from depth and pinhole intrinsics.

    `intrinsics` belong to frames of `intrinsics_size` (width, height) and are scaled to the
    frames that arrive; None (or no intrinsics) means the frame's own size. Without intrinsics
    a `hfov_deg` field of view is assumed.
    """

    def __init__(self, folder: str | Path, intrinsics: Intrinsics | None = None,
                 intrinsics_size: tuple[int, int] | None = None, stride: int = 2,
                 max_depth: float | None = None, hfov_deg: float = 60.0) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.intrinsics = intrinsics
        self.intrinsics_size = intrinsics_size
        self.stride = max(1, int(stride))
        self.max_depth = max_depth
        self.hfov_deg = hfov_deg

    def write(self, result: Result) -> None:
        h, w = result.depth.shape
        if self.intrinsics is None:
            intr = fov_intrinsics(w, h, self.hfov_deg)
        elif self.intrinsics_size and self.intrinsics_size != (w, h):
            w0, h0 = self.intrinsics_size
            intr = self.intrinsics.scaled(w / w0, h / h0)
        else:
            intr = self.intrinsics
        frame_to_ply(self.folder / f"{result.index:06d}.ply", result.depth, result.image,
                     intr, self.stride, self.max_depth)


class WindowSink(Sink):
    """An OpenCV window; `q` or Esc (or closing the window) asks the pipeline to stop."""

    needs_canvas = True

    def __init__(self, title: str = "moadepth-edge") -> None:
        self.title = title
        cv2.namedWindow(title, cv2.WINDOW_NORMAL)

    def write(self, result: Result) -> None:
        cv2.imshow(self.title, result.canvas)
        key = cv2.waitKey(1) & 0xFF
        if key in (ord("q"), 27) or cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
            self.stop_requested = True

    def close(self) -> None:
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            pass


def display_available() -> bool:
    """True when a window can be shown: a display is set and OpenCV was built with a GUI."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        cv2.namedWindow("moadepth-probe", cv2.WINDOW_NORMAL)
        cv2.destroyWindow("moadepth-probe")
    except cv2.error:
        return False
    return True


def read_depth_png(path: str | Path) -> np.ndarray:
    """A depth PNG written by DepthSink -> HxW float32 metres (0 = no depth)."""
    return read_depth(path, PNG_SCALE)
