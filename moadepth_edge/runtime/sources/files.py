"""File sources: every frame of a video file, or image files (a file, a folder, a glob), read
losslessly and in order; unreadable images are skipped and a video that stops decoding early
ends, each with a warning."""
from __future__ import annotations

import logging
import time
from pathlib import Path

import cv2
import numpy as np

from ...errors import UserError
from .base import Frame, Source, quiet_opencv

log = logging.getLogger("moadepth_edge.runtime")


class _Resizer:
    """Optional resize of file frames to a requested width/height (either may be None)."""

    def __init__(self, width: int | None, height: int | None) -> None:
        self.width, self.height = width, height

    def __call__(self, image: np.ndarray) -> np.ndarray:
        if not (self.width or self.height):
            return image
        h, w = image.shape[:2]
        tw = self.width or int(round(w * self.height / h))
        th = self.height or int(round(h * self.width / w))
        if (tw, th) == (w, h):
            return image
        return cv2.resize(image, (tw, th), interpolation=cv2.INTER_AREA if tw < w else cv2.INTER_LINEAR)


class VideoFileSource(Source):
    """Every frame of a video file, in order. FFmpeg conceals damaged frames; a file that
    stops decoding early (truncated, corrupt) ends the source with a warning."""

    def __init__(self, path: str | Path, width: int | None = None, height: int | None = None) -> None:
        super().__init__(str(path))
        with quiet_opencv():
            self.cap = cv2.VideoCapture(str(path), cv2.CAP_ANY)
        if not self.cap.isOpened():
            raise UserError(f"cannot open video file {path} (not a video, or a codec OpenCV lacks)")
        self.count = int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self._fps = float(self.cap.get(cv2.CAP_PROP_FPS) or 0) or None
        self.resize = _Resizer(width, height)
        self.index = 0
        self.ended_early = False

    @property
    def fps(self) -> float | None:
        return self._fps

    def read(self) -> Frame | None:
        if self.cap is None:
            return None
        ok, image = self.cap.read()
        if not ok or image is None:
            if self.index < self.count and not self.ended_early:
                self.ended_early = True
                log.warning("%s ended after %d of %d frames (truncated or corrupt file)",
                            self.description, self.index, self.count)
            return None
        frame = Frame(self.index, self.resize(image), time.perf_counter())
        self.index += 1
        return frame

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None


class ImageSource(Source):
    """Image files in order (a file, a folder's images sorted by name, or a glob pattern)."""

    def __init__(self, paths: list[Path], description: str, width: int | None = None,
                 height: int | None = None) -> None:
        super().__init__(description)
        if not paths:
            raise UserError(f"no images found for {description}")
        self.paths = paths
        self.names = output_names(paths)
        self.resize = _Resizer(width, height)
        self.position = 0

    def read(self) -> Frame | None:
        while self.position < len(self.paths):
            path = self.paths[self.position]
            self.position += 1
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                self.skipped += 1
                log.warning("skipping unreadable image %s", path)
                continue
            return Frame(self.position - 1, self.resize(image), time.perf_counter(), self.names[self.position - 1])
        return None


def output_names(paths: list[Path]) -> list[str]:
    """Each image's stem (`rgb_00123.png` -> `rgb_00123`), so depth maps and point clouds can be
    matched to their inputs by other tools; a stem that repeats (x.jpg and x.png, or a glob
    over folders) gets its position appended to stay unique."""
    stems = [p.stem for p in paths]
    repeated = {s for s in stems if stems.count(s) > 1}
    return [f"{s}_{i:06d}" if s in repeated else s for i, s in enumerate(stems)]
