"""A video file replayed as a live camera: frames delivered in real time at a given rate.

    source = PacedSource("clip.mp4", fps=30)      # live: newest frame kept, like a camera

Measuring what a robot sees needs a camera that behaves like one: frames arrive on their own
clock whether or not anyone is ready, and a reader that is busy finds only the newest. This is
a LiveSource (live.py: newest kept, drops counted, the same read() and close()) whose reader
thread decodes the next frame ahead, waits for its due time t0 + k/fps and delivers it. The
clip loops, as a camera never ends.

Timestamps are honest: a frame is stamped with its due time (when a camera at this rate would
have captured it), never the later moment the replay managed to deliver it, so a replay that
falls behind adds to the measured latency instead of hiding in it. One that falls more than a
frame behind (a machine too busy to decode in time) skips to the current frame slot; the frames
in between count as dropped, as a camera's would, and `skipped_late` says how many. `delivered`
keeps when each recent frame was due and delivered, so a report can show the replay kept pace.
"""
from __future__ import annotations

import math
import time
from collections import deque
from pathlib import Path

import cv2

from ..errors import UserError
from .sources.base import Frame, quiet_opencv
from .sources.live import LiveSource
from .redact import redact

LOG_FRAMES = 100_000  # delivery records kept (about an hour at 30 FPS, a few MiB)


class PacedSource(LiveSource):
    """`path` (a video file) delivered as a live camera at `fps` frames per second, looped.

    `delivered`: (index, due, delivered_at) per recent frame, perf_counter seconds; the Frame's
    timestamp is `due`. `skipped_late`: frame slots passed over because the replay fell behind.
    """

    def __init__(self, path: str | Path, fps: float, timeout_s: float = 10.0) -> None:
        if isinstance(fps, bool) or not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
            raise UserError(f"a paced replay needs a positive frame rate, got {fps!r}")
        path = Path(path)
        if not path.is_file():
            what = "not a video file" if path.exists() else "video not found"
            raise UserError(f"{what}: {redact(str(path))}")
        self.path = path
        self.period = 1.0 / float(fps)
        self._rate = float(fps)
        self.delivered: deque[tuple[int, float, float]] = deque(maxlen=LOG_FRAMES)
        self.skipped_late = 0
        self._check_decodes()
        super().__init__(self._open, f"{path.name} paced at {fps:g} FPS", timeout_s)

    @property
    def fps(self) -> float:
        return self._rate

    def _open(self) -> cv2.VideoCapture:
        with quiet_opencv():
            return cv2.VideoCapture(str(self.path), cv2.CAP_ANY)

    def _check_decodes(self) -> None:
        cap = self._open()
        try:
            ok, image = cap.read() if cap.isOpened() else (False, None)
        finally:
            cap.release()
        if not ok or image is None:
            raise UserError(f"cannot replay {self.path}: not a video OpenCV can decode, or no frames")

    def _next_image(self, cap: cv2.VideoCapture):  # noqa: ANN202 - (capture, image)
        """The next decoded frame, rewinding (reopening) the file at its end."""
        ok, image = cap.read()
        if ok and image is not None:
            return cap, image
        cap.release()
        cap = self._open()
        ok, image = cap.read()
        if not ok or image is None:
            raise OSError(f"{self.path} stopped decoding")
        return cap, image

    def _reader(self) -> None:
        """Overrides LiveSource's reader: the same hand-over (newest frame under the condition,
        the no-frame clock, failures and the end reported to read()), on the replay's clock."""
        cap, slot = self._cap, 0
        try:
            cap, image = self._next_image(cap)
            start = time.perf_counter()
            while not self._stop.is_set():
                due = start + slot * self.period
                wait = due - time.perf_counter()
                if wait > 0 and self._stop.wait(wait):
                    break
                behind = int((time.perf_counter() - start) / self.period) - slot
                if behind >= 1:  # more than a frame late: deliver the current slot's frame
                    self.skipped_late += behind
                    slot += behind
                    due = start + slot * self.period
                with self._cond:
                    now = time.perf_counter()
                    self._latest = Frame(slot, image, due)
                    self._last_frame = time.monotonic()
                    self.delivered.append((slot, due, now))
                    self._cond.notify_all()
                slot += 1
                cap, image = self._next_image(cap)
        except Exception as exc:  # read() raises it as a RunFailure instead of waiting forever
            self._failure = f"{self.description} failed: {redact(exc)}"
        finally:
            cap.release()
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def lag_ms(self) -> list[float]:
        """Delivery minus due time of each recent frame, in ms (how well the replay kept pace)."""
        with self._cond:
            log = list(self.delivered)
        return [1e3 * (at - due) for _, due, at in log]

