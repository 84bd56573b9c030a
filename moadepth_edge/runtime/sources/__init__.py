"""Where frames come from: one base class (base.py: `Frame`, `Source`) and one file per kind.

`open_source(spec)` picks the kind from the spec. files.py: video files and images (a file, a
folder, a glob), read losslessly and in order. live.py: cameras, `csi://N`, RTSP/HTTP URLs and
GStreamer pipelines, read on their own thread keeping only the newest frame, reopened with
backoff when they drop, ending the run when no frame has come for `timeout_s`. Every
description and message shows a stream URL without its credentials (runtime/redact.py).
"""
from __future__ import annotations

import glob as globlib
from pathlib import Path

from ...errors import UserError
from ...formats.image_files import image_files, is_image
from ..redact import redact
from .base import Frame, Source
from .files import ImageSource, VideoFileSource
from .live import LiveSource, check_camera_index, csi_pipeline, open_camera, open_gstreamer, open_stream

__all__ = ["Frame", "Source", "VideoFileSource", "ImageSource", "LiveSource", "csi_pipeline", "open_source",
           "redact"]

STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")


def open_source(
    spec: str | int,
    width: int | None = None,
    height: int | None = None,
    fps: float | None = None,
    timeout_s: float = 10.0,
    topic: str | None = None,
) -> Source:
    """Open a camera index, `csi://N`, a stream URL, a GStreamer pipeline (contains " ! "), an
    image file / folder / glob, or a video file. Raises UserError when it cannot be opened.
    A live source ends the run (RunFailure) after `timeout_s` seconds without a frame. A
    rosbag2 (`NAME.mcap`, a bag folder) is read from `topic` (default: its first image topic)."""
    text = str(spec).strip()
    if not text:
        raise UserError("the source is empty: give a camera index, a file, a folder, a glob or a URL")
    if isinstance(spec, int) or text.isdigit():
        index = check_camera_index(int(text))
        return LiveSource(lambda: open_camera(index, width, height, fps), f"camera {index}", timeout_s)
    if text.startswith("csi://"):
        sensor = text[len("csi://"):]
        if not sensor.isdigit():
            raise UserError(f"a CSI source is csi://N with N the sensor id, got {redact(text)!r}")
        pipeline = csi_pipeline(int(sensor), width or 1280, height or 720, fps or 30)
        return LiveSource(lambda: open_gstreamer(pipeline), f"CSI camera {sensor}", timeout_s)
    if " ! " in text:
        pipeline = text if "appsink" in text else f"{text} ! appsink drop=true max-buffers=1 sync=false"
        return LiveSource(lambda: open_gstreamer(pipeline), "GStreamer pipeline", timeout_s)
    if text.lower().startswith(STREAM_SCHEMES):
        return LiveSource(lambda: open_stream(text, timeout_s), f"stream {text}", timeout_s)
    from ..ros.bag_source import BagSource, is_bag  # rosbags is imported only for a bag

    if is_bag(text):
        return BagSource(text, topic, width, height)
    try:
        return _open_file_source(text, width, height)
    except OSError as exc:  # a name too long, a folder not readable
        raise UserError(f"cannot read source {redact(text)}: {exc.strerror or exc}") from None


def _open_file_source(text: str, width: int | None, height: int | None) -> Source:
    path = Path(text).expanduser()
    if path.is_dir():
        images = image_files(path)
        return ImageSource(images, f"folder {path}", width, height)
    if any(ch in text for ch in "*?["):
        images = sorted(Path(p) for p in globlib.glob(str(path)) if is_image(p))
        return ImageSource(images, f"pattern {redact(text)}", width, height)
    if not path.exists():
        raise UserError(f"source not found: {redact(text)}")
    if path.is_fifo() or path.is_socket():  # opening one blocks until a writer appears, unkillably
        raise UserError(f"source {path} is a pipe or socket; stream it with a URL or a GStreamer pipeline")
    if is_image(path):
        return ImageSource([path], f"image {path}", width, height)
    if path.suffix.lower() == ".txt":
        return ImageSource(_image_list(path), f"list {path}", width, height)
    return VideoFileSource(path, width, height)


def _image_list(path: Path) -> list[Path]:
    """The images a .txt list names, one per line, relative to the list's folder (a BTS-style
    `rgb depth focal` line contributes its first column); blank lines and `#` comments skipped.
    A listed file that is missing is a UserError naming the line."""
    images = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        image = (path.parent / entry).expanduser()
        if not image.is_file():
            image = (path.parent / entry.split()[0]).expanduser()
        if not image.is_file() or not is_image(image):
            raise UserError(f"{path}:{lineno}: not an image file: {entry}")
        images.append(image)
    return images
