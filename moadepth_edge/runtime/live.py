"""Live sources: cameras, Jetson CSI sensors, network streams and GStreamer pipelines.

Each is read on its own thread that keeps only the newest frame, so a slow model never builds
up lag; a source that drops is reopened with exponential backoff, and one that never opens is
a UserError.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import cv2

from ..errors import UserError
from .frame_source import Frame, Source, quiet_opencv

log = logging.getLogger("moadepth_edge.runtime")


class LiveSource(Source):
    """A live capture read on a background thread that keeps only the newest frame.

    `opener` returns an opened cv2.VideoCapture (or anything with isOpened/read/release). When
    reads fail the capture is released and reopened with exponential backoff, for up to
    `reconnect_s` seconds per outage; after that the source ends. `read()` blocks until a
    frame newer than the last one returned arrives; frames in between are dropped (counted).
    """

    live = True

    def __init__(self, opener: Callable[[], cv2.VideoCapture], description: str,
                 reconnect_s: float = 15.0, backoff: tuple[float, float] = (0.25, 4.0)) -> None:
        super().__init__(description)
        self.opener = opener
        self.reconnect_s = reconnect_s
        self.backoff = backoff
        self.dropped = 0
        self.reconnects = 0
        with quiet_opencv():
            cap = opener()
        if cap is None or not cap.isOpened():
            if cap is not None:
                cap.release()
            raise UserError(f"cannot open {description}")
        self._fps = float(cap.get(cv2.CAP_PROP_FPS) or 0) or None
        self._cap = cap
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._returned = -1
        self._ended = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._reader, name="moadepth-capture", daemon=True)
        self._thread.start()

    @property
    def fps(self) -> float | None:
        return self._fps

    def _reader(self) -> None:
        seq = 0
        cap = self._cap
        try:
            while not self._stop.is_set():
                ok, image = cap.read()
                if ok and image is not None:
                    with self._cond:
                        self._latest = Frame(seq, image, time.perf_counter())
                        self._cond.notify_all()
                    seq += 1
                    continue
                cap.release()
                cap = self._reopen()
                if cap is None:
                    break
        except Exception as exc:  # a driver error ends the stream; read() must not wait forever
            log.warning("%s failed: %s", self.description, exc)
        finally:
            if cap is not None:
                cap.release()
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def _reopen(self) -> cv2.VideoCapture | None:
        """Reopen after a drop with exponential backoff; None when the outage outlasts reconnect_s."""
        delay, max_delay = self.backoff
        deadline = time.monotonic() + self.reconnect_s
        log.warning("%s dropped; reconnecting", self.description)
        while not self._stop.is_set() and time.monotonic() < deadline:
            if self._stop.wait(min(delay, max(0.0, deadline - time.monotonic()))):
                break
            with quiet_opencv():
                cap = self.opener()
            if cap is not None and cap.isOpened():
                self.reconnects += 1
                log.warning("%s reconnected", self.description)
                return cap
            if cap is not None:
                cap.release()
            delay = min(delay * 2, max_delay)
        if not self._stop.is_set():
            log.warning("%s did not come back within %.0f s; stopping", self.description, self.reconnect_s)
        return None

    def read(self) -> Frame | None:
        with self._cond:
            while not self._stop.is_set():  # closed: no more frames, even a pending one
                latest = self._latest
                if latest is not None and latest.index > self._returned:
                    self.dropped += latest.index - self._returned - 1
                    self._returned = latest.index
                    return latest
                if self._ended:
                    return None
                self._cond.wait(0.1)
            return None

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=5.0)


def csi_pipeline(sensor_id: int, width: int = 1280, height: int = 720, fps: float = 30) -> str:
    """The Jetson Argus (CSI camera) GStreamer pipeline delivering BGR frames to appsink."""
    return (
        f"nvarguscamerasrc sensor-id={sensor_id} ! "
        f"video/x-raw(memory:NVMM), width=(int){width}, height=(int){height}, "
        f"framerate=(fraction){int(round(fps))}/1, format=(string)NV12 ! "
        "nvvidconv flip-method=0 ! video/x-raw, format=(string)BGRx ! "
        "videoconvert ! video/x-raw, format=(string)BGR ! appsink drop=true max-buffers=1 sync=false"
    )


def open_camera(index: int, width: int | None, height: int | None, fps: float | None) -> cv2.VideoCapture:
    cap = cv2.VideoCapture(index, cv2.CAP_ANY)
    if cap.isOpened():
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # drivers that honour it hand us fresh frames
        if width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        if fps:
            cap.set(cv2.CAP_PROP_FPS, fps)
    return cap


def open_stream(url: str) -> cv2.VideoCapture:
    return cv2.VideoCapture(url, cv2.CAP_FFMPEG)


def open_gstreamer(pipeline: str) -> cv2.VideoCapture:
    if not cv2.videoio_registry.hasBackend(cv2.CAP_GSTREAMER):
        raise UserError(
            "this OpenCV build has no GStreamer support (pip's opencv-python lacks it); on a "
            "Jetson use the system OpenCV from JetPack (apt install python3-opencv)"
        )
    return cv2.VideoCapture(pipeline, cv2.CAP_GSTREAMER)


def redact(url: str) -> str:
    """Hide credentials (rtsp://user:pass@host) in messages."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest.split("/", 1)[0]:
        rest = "***@" + rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"
