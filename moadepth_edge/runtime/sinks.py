"""Where depth goes: a window, a side-by-side video, depth files, point clouds.

Every sink writes one frame at a time and must be closed (the pipeline closes them on every
exit path), so a run that stops early still leaves playable video and complete files. Every
write is checked: a failed one raises WriteFailed naming the file and the cause (a RunFailure:
the run ends, exit 1), and files appear under their names only once complete (atomic writes;
the video is written beside its name and moved there once finalised and read back).
"""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import ContextManager, Iterable

import cv2
import numpy as np

from ..data.files import read_depth, write_depth_png
from ..data.sample import Intrinsics
from ..errors import UserError, WriteFailed
from ..outputs import atomic_path, make_dir_for_write, output_dir, output_file, write_with
from .result import Result
from .sources.base import quiet_opencv
from .pointcloud import fov_intrinsics, frame_to_ply
from .video_writer import (FOURCC, VIDEO_SUFFIXES, encodable_size, open_writer, space_problem, verify_video,
                           writer_problem)

log = logging.getLogger("moadepth_edge.runtime")

DEPTH_FORMATS = ("png", "npy")
PNG_SCALE = 1000.0  # 16-bit PNG depth is in millimetres (0 = no depth), the NYU/BTS convention


class Sink:
    """Base sink. `needs_canvas`: it shows or saves the side-by-side picture."""

    needs_canvas = False
    stop_requested = False  # a window sink sets it when the user presses q / Esc

    def write(self, result: Result) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _FolderSink(Sink):
    """A file per frame into a folder that is checked when the sink is made and created at the
    first write (a run that fails before its first frame leaves no empty folder); a folder
    removed mid-run is a failed write, not made again."""

    def __init__(self, folder: str | Path, what: str) -> None:
        self.folder = output_dir(folder, what, create=False)
        self._made = False

    def _path(self, name: str) -> Path:
        if not self._made:
            make_dir_for_write(self.folder)
            self._made = True
        return self.folder / name


class _Abandoned(Exception):
    """Thrown into an atomic_path block to drop its temp file instead of moving it into place."""


class VideoSink(Sink):
    """The side-by-side canvas to a video file (mp4v), one output frame per processed frame.

    The video is written to a temp file beside `path` and moved to `path` when closed, once
    it reads back: `path` never holds a file without its index. A write that fails, a disk
    about to fill (stopped while the index still fits) or a folder removed mid-run raise
    WriteFailed; the frames written before it are still finalised into `path`."""

    needs_canvas = True

    def __init__(self, path: str | Path, fps: float = 30.0, fourcc: str = FOURCC) -> None:
        self.path = output_file(path, "video", VIDEO_SUFFIXES, create=False)
        self.fps = fps if fps and np.isfinite(fps) and fps > 0 else 30.0
        self.fourcc = fourcc
        self.writer: cv2.VideoWriter | None = None
        self.size: tuple[int, int] | None = None
        self.frames = 0
        self._atomic: ContextManager[Path] | None = None
        self._tmp: Path | None = None
        self._inode = 0

    def _open(self, width: int, height: int) -> None:
        self.size = encodable_size(width, height)
        make_dir_for_write(self.path.parent)
        atomic = atomic_path(self.path)
        self._tmp = atomic.__enter__()  # the temp file beside `path`; WriteFailed if it cannot be made
        self._atomic = atomic
        self.writer = open_writer(self._tmp, self.fps, self.size, self.fourcc)
        if self.writer is None:
            self._abandon()
            raise WriteFailed(self.path, writer_problem(self.path, self.size, self.fourcc))
        self._inode = os.stat(self._tmp).st_ino

    def write(self, result: Result) -> None:
        canvas = result.canvas
        if self.writer is None:
            self._open(canvas.shape[1], canvas.shape[0])
        if (canvas.shape[1], canvas.shape[0]) != self.size:
            canvas = cv2.resize(canvas, self.size, interpolation=cv2.INTER_AREA)
        problem = self._gone() or space_problem(self._tmp.parent, self.frames)
        if problem is None:
            with quiet_opencv(cv2.utils.logging.LOG_LEVEL_SILENT):
                ok = self.writer.write(canvas)  # OpenCV 5 says whether it worked; 4 says None
            if ok is False:
                problem = (self._gone() or space_problem(self._tmp.parent, 0)
                           or f"the encoder could not write frame {self.frames}")
        if problem is not None:
            raise WriteFailed(self.path, problem)
        self.frames += 1

    def _gone(self) -> str | None:
        try:
            same = os.stat(self._tmp).st_ino == self._inode
        except OSError:
            same = False
        return None if same else "the file or its folder was removed while it was being written"

    def _abandon(self) -> None:
        atomic, self._atomic = self._atomic, None
        if atomic is not None:  # removes the temp file; the exception is swallowed by design
            atomic.__exit__(_Abandoned, _Abandoned(), None)

    def close(self) -> None:
        """Finalise: write the index, read the file back, move it into place. WriteFailed
        when that fails (the temp file is removed; `path` is left as it was)."""
        if self._atomic is None:  # never opened, or closed already
            return
        writer, self.writer = self.writer, None
        if writer is not None:
            with quiet_opencv(cv2.utils.logging.LOG_LEVEL_SILENT):
                writer.release()  # writes the index: the file plays from here on
        if not self.frames:
            self._abandon()  # nothing was written: leave no empty file behind
            return
        problem = self._gone() or verify_video(self._tmp, self.frames)
        if problem is not None:
            self._abandon()
            raise WriteFailed(self.path, problem)
        atomic, self._atomic = self._atomic, None
        atomic.__exit__(None, None, None)  # fsync + rename into place; OSError -> WriteFailed


def depth_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    """`png`, `npy` or both (a comma list or an iterable) -> a tuple; else UserError."""
    items = formats.split(",") if isinstance(formats, str) else formats
    chosen = tuple(dict.fromkeys(f.strip().lower() for f in items))
    bad = [f for f in chosen if f not in DEPTH_FORMATS]
    if bad or not chosen:
        raise UserError(f"depth formats must be among {', '.join(DEPTH_FORMATS)} (comma list), "
                        f"got {','.join(chosen) or 'nothing'}")
    return chosen


class DepthSink(_FolderSink):
    """Depth files per frame, named by frame index: 16-bit PNG millimetres and/or .npy metres.
    Each file is written atomically and checked (WriteFailed)."""

    def __init__(self, folder: str | Path, formats: str | Iterable[str] = ("png",)) -> None:
        self.formats = depth_formats(formats)
        super().__init__(folder, "depth folder")

    def write(self, result: Result) -> None:
        name = self._path(result.stem)
        if "png" in self.formats:
            write_depth_png(name.with_name(name.name + ".png"), result.depth, PNG_SCALE)
        if "npy" in self.formats:
            depth = result.depth.astype(np.float32)
            write_with(name.with_name(name.name + ".npy"), lambda tmp: np.save(tmp, depth))


class PointCloudSink(_FolderSink):
    """A coloured PLY per frame from depth and pinhole intrinsics (written atomically).

    `intrinsics` belong to frames of `intrinsics_size` (width, height) and are scaled to the
    frames that arrive; None (or no intrinsics) means the frame's own size. Without intrinsics
    a `hfov_deg` field of view is assumed.
    """

    def __init__(self, folder: str | Path, intrinsics: Intrinsics | None = None,
                 intrinsics_size: tuple[int, int] | None = None, stride: int = 2,
                 max_depth: float | None = None, hfov_deg: float = 60.0) -> None:
        super().__init__(folder, "point cloud folder")
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
        frame_to_ply(self._path(f"{result.stem}.ply"), result.depth, result.image,
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
