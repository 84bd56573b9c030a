"""Live sources: cameras, Jetson CSI sensors, network streams and GStreamer pipelines.

Each is read on its own thread that keeps only the newest frame, so a slow model never builds
up lag. A source that drops is reopened with exponential backoff; one that never opens is a
UserError, and one that delivers no frame for `timeout_s` seconds, counted from its last frame
(not its last reopen: a stream that opens but never delivers must not loop forever), ends the
run as a RunFailure.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from typing import Callable

import cv2

from ...errors import RunFailure, UserError
from .base import Frame, Source, quiet_opencv
from ..redact import redact

log = logging.getLogger("moadepth_edge.runtime")

MAX_CAMERA_INDEX = 99  # OpenCV reads index // 100 as a backend id; negative indices crash it


class LiveSource(Source):
    """A live capture read on a background thread that keeps only the newest frame.

    `opener` returns an opened cv2.VideoCapture (or anything with isOpened/read/release). When
    reads fail the capture is released and reopened with exponential backoff. `read()` blocks
    until a frame newer than the last one returned arrives (frames in between are dropped,
    counted) and raises RunFailure once no frame has arrived for `timeout_s` seconds, or when
    the driver fails; it returns None only after `close()`.
    """

    live = True

    def __init__(self, opener: Callable[[], cv2.VideoCapture], description: str,
                 timeout_s: float = 10.0, backoff: tuple[float, float] = (0.25, 4.0)) -> None:
        super().__init__(redact(description))
        if not (math.isfinite(timeout_s) and timeout_s > 0):
            raise UserError(f"the source timeout must be a positive number of seconds, got {timeout_s}")
        self.opener = opener
        self.timeout_s = float(timeout_s)
        self.backoff = backoff
        self.dropped = 0
        self.reconnects = 0
        with quiet_opencv():
            cap = opener()
        if cap is None or not cap.isOpened():
            if cap is not None:
                cap.release()
            raise UserError(f"cannot open {self.description}")
        self._fps = float(cap.get(cv2.CAP_PROP_FPS) or 0) or None
        self._cap = cap
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._returned = -1
        self._last_frame = time.monotonic()  # the open counts as the start of the first wait
        self._failure: str | None = None
        self._ended = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._reader, name="moadepth-capture", daemon=True)
        self._thread.start()

    @property
    def fps(self) -> float | None:
        return self._fps

    def _deadline(self) -> float:
        return self._last_frame + self.timeout_s

    def _reader(self) -> None:
        seq = 0
        cap = self._cap
        try:
            while not self._stop.is_set():
                ok, image = cap.read()
                if ok and image is not None:
                    with self._cond:
                        self._latest = Frame(seq, image, time.perf_counter())
                        self._last_frame = time.monotonic()
                        self._cond.notify_all()
                    seq += 1
                    continue
                cap.release()
                cap = self._reopen()
                if cap is None:
                    break
        except Exception as exc:  # a driver error ends the stream; read() must not wait forever
            self._failure = f"{self.description} failed: {redact(exc)}"
        finally:
            if cap is not None:
                cap.release()
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def _reopen(self) -> cv2.VideoCapture | None:
        """Reopen after a drop with exponential backoff; None once no frame has come for
        timeout_s (however many opens succeeded meanwhile) or the source is closed."""
        delay, max_delay = self.backoff
        log.warning("%s dropped; reconnecting", self.description)
        while not self._stop.is_set():
            left = self._deadline() - time.monotonic()
            if left <= 0 or self._stop.wait(min(delay, left)):
                return None
            with quiet_opencv():
                cap = self.opener()
            if cap is not None and cap.isOpened():
                self.reconnects += 1
                log.warning("%s reconnected", self.description)
                return cap
            if cap is not None:
                cap.release()
            delay = min(delay * 2, max_delay)
        return None

    def read(self) -> Frame | None:
        with self._cond:
            while not self._stop.is_set():  # closed: no more frames, even a pending one
                latest = self._latest
                if latest is not None and latest.index > self._returned:
                    self.dropped += latest.index - self._returned - 1
                    self._returned = latest.index
                    return latest
                left = self._deadline() - time.monotonic()
                if self._failure is not None:
                    raise RunFailure(self._failure)
                if left <= 0 or self._ended:
                    raise RunFailure(f"{self.description} delivered no frame for {self.timeout_s:g} s "
                                     "(--source-timeout); giving up")
                self._cond.wait(min(0.1, left))
            return None

    def close(self) -> None:
        """Stop reading. A reader blocked inside the driver (a silent stream, for up to
        timeout_s) cannot be interrupted safely; it is given a moment, then left to release
        its capture itself when the call returns (a daemon thread never holds up the exit)."""
        if self._stop.is_set():
            return
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=1.0)


def csi_pipeline(sensor_id: int, width: int = 1280, height: int = 720, fps: float = 30) -> str:
    """The Jetson Argus (CSI camera) GStreamer pipeline delivering BGR frames to appsink."""
    return (
        f"nvarguscamerasrc sensor-id={sensor_id} ! "
        f"video/x-raw(memory:NVMM), width=(int){width}, height=(int){height}, "
        f"framerate=(fraction){int(round(fps))}/1, format=(string)NV12 ! "
        "nvvidconv flip-method=0 ! video/x-raw, format=(string)BGRx ! "
        "videoconvert ! video/x-raw, format=(string)BGR ! appsink drop=true max-buffers=1 sync=false"
    )


def check_camera_index(index: int) -> int:
    """A V4L2 camera index (the N of /dev/videoN) OpenCV can be given safely; else UserError."""
    if not 0 <= index <= MAX_CAMERA_INDEX:
        raise UserError(f"camera index must be 0..{MAX_CAMERA_INDEX} (the N of /dev/videoN), got {index}")
    return index


def open_camera(index: int, width: int | None, height: int | None, fps: float | None) -> cv2.VideoCapture:
    cap = cv2.VideoCapture(check_camera_index(index), cv2.CAP_ANY)
    if cap.isOpened():
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # drivers that honour it hand us fresh frames
        if width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        if fps:
            cap.set(cv2.CAP_PROP_FPS, fps)
    return cap


def open_stream(url: str, timeout_s: float = 10.0) -> cv2.VideoCapture:
    """An FFmpeg stream whose open and reads give up after `timeout_s` (FFmpeg's default is
    30 s per blocking call), so a silent server cannot hold the reader thread longer."""
    ms = max(1, int(timeout_s * 1000))
    return cv2.VideoCapture(url, cv2.CAP_FFMPEG,
                            [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])


def open_gstreamer(pipeline: str) -> cv2.VideoCapture:
    if not cv2.videoio_registry.hasBackend(cv2.CAP_GSTREAMER):
        raise UserError(
            "this OpenCV build has no GStreamer support (pip's opencv-python lacks it); on a "
            "Jetson use the system OpenCV from JetPack (apt install python3-opencv)"
        )
    return cv2.VideoCapture(pipeline, cv2.CAP_GSTREAMER)
