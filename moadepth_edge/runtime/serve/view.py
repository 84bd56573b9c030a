"""The newest result, handed from the run to the viewers without ever making the run wait.

`publish` (the run's thread) only swaps a reference and wakes the viewers. Viewers encode on
their own threads, once per frame however many watch (the first viewer to ask encodes it, the
others reuse it); a viewer that falls behind simply gets the newest frame next. Nothing is
encoded while nobody watches.
"""
from __future__ import annotations

import threading
import time
from typing import Any

import cv2
import numpy as np

from ..sinks import PNG_SCALE, Result, Sink
from ..viz import DepthColorizer, side_by_side


class LiveView:
    """Shared state of the live view: the newest Result and its encodings, and viewer counts."""

    def __init__(self, colorizer: DepthColorizer | None = None, label: str = "",
                 jpeg_quality: int = 80) -> None:
        self.colorizer = colorizer or DepthColorizer()
        self.label = label
        self.jpeg_quality = int(jpeg_quality)
        self._cond = threading.Condition()
        self._encode = threading.Lock()
        self._result: Result | None = None
        self._seq = 0
        self._jpeg: tuple[int, bytes] | None = None
        self._png: tuple[int, bytes] | None = None
        self.closed = False
        self.started = time.monotonic()
        self.viewers = 0  # connected MJPEG streams
        self.dropped_viewers = 0  # streams closed because the viewer stopped reading

    # -- the run's side -----------------------------------------------------------------------
    def publish(self, result: Result) -> None:
        """Make `result` the newest frame (O(1): no encoding, no waiting on viewers)."""
        with self._cond:
            self._result = result
            self._seq += 1
            self._cond.notify_all()

    def close(self) -> None:
        """Wake every waiting viewer; they end their streams."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    # -- the viewers' side --------------------------------------------------------------------
    def newest(self, after: int = 0, timeout: float | None = None) -> tuple[int, Result] | None:
        """The newest (seq, result) once one newer than `after` exists; None on timeout or close."""
        with self._cond:
            ready = self._cond.wait_for(lambda: self._seq > after or self.closed, timeout)
            if not ready or self.closed or self._result is None:
                return None
            return self._seq, self._result

    def jpeg(self, after: int = 0, timeout: float | None = None) -> tuple[int, bytes] | None:
        """(seq, JPEG of frame | depth) of the newest frame newer than `after`."""
        item = self.newest(after, timeout)
        if item is None:
            return None
        seq, result = item
        with self._encode:
            if self._jpeg is None or self._jpeg[0] < seq:
                ok, buf = cv2.imencode(".jpg", self.render(result),
                                       [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
                if not ok:
                    return None
                self._jpeg = (seq, buf.tobytes())
            return self._jpeg

    def depth_png(self) -> bytes | None:
        """The newest depth as a 16-bit PNG in millimetres (0 = no depth), or None before the
        first frame."""
        item = self.newest(0, 0)
        if item is None:
            return None
        seq, result = item
        with self._encode:
            if self._png is None or self._png[0] < seq:
                mm = np.nan_to_num(result.depth.astype(np.float64) * PNG_SCALE, nan=0.0, posinf=0.0)
                ok, buf = cv2.imencode(".png", np.clip(np.rint(mm), 0, 65535).astype(np.uint16))
                if not ok:
                    return None
                self._png = (seq, buf.tobytes())
            return self._png[1]

    def render(self, result: Result) -> np.ndarray:
        """The side-by-side picture with FPS and latency (the run's own when it drew one)."""
        if result.canvas is not None:
            return result.canvas
        lines = [f"{result.fps:5.1f} FPS  {1e3 * result.latency_s:4.0f} ms"] + ([self.label] if self.label else [])
        return side_by_side(result.image, self.colorizer(result.depth), lines)

    def stats(self) -> dict[str, Any]:
        """What /stats.json reports."""
        with self._cond:
            result, frames = self._result, self._seq
        out: dict[str, Any] = {
            "frames": frames, "fps": 0.0, "latency_ms": None, "width": None, "height": None,
            "label": self.label, "viewers": self.viewers, "dropped_viewers": self.dropped_viewers,
            "uptime_s": round(time.monotonic() - self.started, 3), "closed": self.closed,
        }
        if result is not None:
            h, w = result.depth.shape
            out.update(fps=round(float(result.fps), 2), latency_ms=round(1e3 * result.latency_s, 1),
                       width=w, height=h)
        return out


class ServeSink(Sink):
    """Hands every result to a running ViewServer; closing it stops the server."""

    def __init__(self, server: Any) -> None:
        self.server = server

    def write(self, result: Result) -> None:
        self.server.view.publish(result)

    def close(self) -> None:
        self.server.close()
