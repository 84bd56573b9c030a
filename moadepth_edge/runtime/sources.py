"""Where frames come from: cameras, CSI sensors, streams, GStreamer pipelines, video files, images.

`open_source(spec)` picks the kind from the spec. Files (video, image, folder, glob) are read
losslessly and in order; unreadable images are skipped, and a video that stops decoding early
ends, each with a warning. Live sources (camera, `csi://N`, RTSP/HTTP URLs, GStreamer pipelines) are in live.py:
read on their own thread keeping only the newest frame, reopened with backoff when they drop.
"""
from __future__ import annotations

import glob as globlib
import logging
import time
from pathlib import Path

import cv2
import numpy as np

from ..errors import UserError
from .frame_source import Frame, Source, quiet_opencv
from .live import LiveSource, csi_pipeline, open_camera, open_gstreamer, open_stream, redact

__all__ = ["Frame", "Source", "VideoFileSource", "ImageSource", "LiveSource", "csi_pipeline", "open_source"]

log = logging.getLogger("moadepth_edge.runtime")

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")


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
            return Frame(self.position - 1, self.resize(image), time.perf_counter())
        return None


def open_source(
    spec: str | int,
    width: int | None = None,
    height: int | None = None,
    fps: float | None = None,
    reconnect_s: float = 15.0,
    topic: str | None = None,
) -> Source:
    """Open a camera index, `csi://N`, a stream URL, a GStreamer pipeline (contains " ! "), an
    image file / folder / glob, a video file, or a rosbag2 (`topic`: its image topic, default
    the first). Raises UserError when it cannot be opened."""
    text = str(spec).strip()
    if isinstance(spec, int) or text.isdigit():
        index = int(text)
        return LiveSource(lambda: open_camera(index, width, height, fps), f"camera {index}", reconnect_s)
    if text.startswith("csi://"):
        sensor = text[len("csi://"):]
        if not sensor.isdigit():
            raise UserError(f"a CSI source is csi://N with N the sensor id, got {text!r}")
        pipeline = csi_pipeline(int(sensor), width or 1280, height or 720, fps or 30)
        return LiveSource(lambda: open_gstreamer(pipeline), f"CSI camera {sensor}", reconnect_s)
    if " ! " in text:
        pipeline = text if "appsink" in text else f"{text} ! appsink drop=true max-buffers=1 sync=false"
        return LiveSource(lambda: open_gstreamer(pipeline), "GStreamer pipeline", reconnect_s)
    if text.lower().startswith(STREAM_SCHEMES):
        return LiveSource(lambda: open_stream(text), f"stream {redact(text)}", reconnect_s)
    from .ros.bag_source import BagSource, is_bag  # rosbag2 (rosbags is imported only for a bag)

    if is_bag(text):
        return BagSource(text, topic, width, height)
    path = Path(text).expanduser()
    if path.is_dir():
        images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        return ImageSource(images, f"folder {path}", width, height)
    if any(ch in text for ch in "*?["):
        images = sorted(Path(p) for p in globlib.glob(str(path)) if Path(p).suffix.lower() in IMAGE_SUFFIXES)
        return ImageSource(images, f"pattern {text}", width, height)
    if not path.exists():
        raise UserError(f"source not found: {text}")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource([path], f"image {path}", width, height)
    return VideoFileSource(path, width, height)
