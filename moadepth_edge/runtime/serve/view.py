"""The newest result, handed from the run to the viewers without ever making the run wait.

`publish` (the run's thread) only swaps a reference and wakes the viewers. Viewers colour and
encode on their own threads, at most `max_fps` times a second however many watch (the first
viewer to ask encodes the newest frame, the others reuse it), so the view costs the run a
bounded share of the CPU even when the model runs at hundreds of frames a second; a viewer
that falls behind simply gets the newest frame next. Nothing is encoded while nobody watches.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Callable

import cv2
import numpy as np

from ..result import Result
from ..sinks import PNG_SCALE, Sink
from ..viz import LEGEND_WIDTH, DepthColorizer, side_by_side


class LiveView:
    """Shared state of the live view: the newest Result and its encodings, and viewer counts.
    The stream's pictures are at most `max_width` pixels wide and `max_fps` per second."""

    def __init__(self, colorizer: DepthColorizer | None = None, label: str = "",
                 jpeg_quality: int = 80, max_fps: float = 10.0, max_width: int = 960) -> None:
        self.colorizer = colorizer or DepthColorizer()
        self.label = label
        self.jpeg_quality = int(jpeg_quality)
        self.min_interval = 1.0 / max_fps if max_fps > 0 else 0.0
        self.max_width = int(max_width)
        self._last_encode = 0.0
        self._published: deque[float] = deque(maxlen=240)  # publish times, for the output rate
        self._cond = threading.Condition()
        self._encode = threading.Lock()
        self._result: Result | None = None
        self._seq = 0
        self._cache: dict[str, tuple[int, bytes]] = {}  # kind -> (seq, encoded bytes)
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
            self._published.append(time.monotonic())
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

    @property
    def seq(self) -> int:
        """How many frames were published so far (the newest frame's number)."""
        return self._seq

    def jpeg(self, after: int = 0, timeout: float | None = None, full: bool = False) -> tuple[int, bytes] | None:
        """(seq, JPEG of frame | depth) of a frame newer than `after` (at most `max_width`
        pixels wide unless `full`). None on timeout, on close, or before the first frame."""
        quality = [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality]
        return self._encoded("full" if full else "stream", after, timeout,
                             lambda result: cv2.imencode(".jpg", self.render(result, full), quality))

    def depth_png(self) -> bytes | None:
        """The newest depth as a 16-bit PNG in millimetres (0 = no depth), or None before the
        first frame."""
        def encode(result: Result) -> tuple[bool, np.ndarray]:
            mm = np.nan_to_num(result.depth.astype(np.float64) * PNG_SCALE, nan=0.0, posinf=0.0)
            return cv2.imencode(".png", np.clip(np.rint(mm), 0, 65535).astype(np.uint16))

        item = self._encoded("depth", self._seq - 1, 0, encode)
        return item[1] if item is not None else None

    def _encoded(self, kind: str, after: int, timeout: float | None,
                 encode: Callable[[Result], tuple[bool, np.ndarray]]) -> tuple[int, bytes] | None:
        """The `kind` encoding of a frame newer than `after`: the cached one when it is (all
        viewers share it), else the newest frame's, encoded no sooner than 1 / max_fps after
        the last encoding of any kind (a client asking fast cannot take the run's CPU)."""
        if self.newest(after, timeout) is None:
            return None
        with self._encode:
            cached = self._cache.get(kind)
            if cached is not None and cached[0] > after:
                return cached
            wait = self._last_encode + self.min_interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            item = self.newest(after, 0)
            if item is None:
                return None
            seq, result = item
            ok, buf = encode(result)
            self._last_encode = time.monotonic()
            if not ok:
                return None
            self._cache[kind] = (seq, buf.tobytes())
            return self._cache[kind]

    def render(self, result: Result, full: bool = True) -> np.ndarray:
        """The side-by-side picture with FPS and latency (the run's own when it drew one); for
        the stream (`full` False) at most `max_width` wide, drawn at that size (cheaper to
        colour, encode and send)."""
        if result.canvas is not None:
            canvas = result.canvas
            if not full and canvas.shape[1] > self.max_width:
                scale = self.max_width / canvas.shape[1]
                canvas = cv2.resize(canvas, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
            return canvas
        image, depth = result.image, result.depth
        h, w = depth.shape
        scale = (self.max_width - LEGEND_WIDTH) / (2 * w)  # the legend keeps its width
        if not full and scale < 1:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)  # 8x cheaper than AREA here
            depth = cv2.resize(depth, size, interpolation=cv2.INTER_NEAREST)
        lines = [f"{self.output_fps():5.1f} FPS  {1e3 * result.latency_s:4.0f} ms"] + ([self.label] if self.label else [])
        return side_by_side(image, self.colorizer(depth), lines)

    def output_fps(self) -> float:
        """Frames the run produced per second over the last 2 s."""
        with self._cond:
            now = time.monotonic()
            recent = [t for t in self._published if now - t <= 2.0]
        return (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 2 and recent[-1] > recent[0] else 0.0

    def stats(self) -> dict[str, Any]:
        """What /stats.json reports."""
        rate = self.output_fps()
        with self._cond:
            result, frames = self._result, self._seq
        out: dict[str, Any] = {
            "frames": frames, "fps": round(rate, 2), "latency_ms": None, "width": None, "height": None,
            "label": self.label, "viewers": self.viewers, "dropped_viewers": self.dropped_viewers,
            "uptime_s": round(time.monotonic() - self.started, 3), "closed": self.closed,
        }
        if result is not None:
            h, w = result.depth.shape
            out.update(latency_ms=round(1e3 * result.latency_s, 1), width=w, height=h)
        return out


class ServeSink(Sink):
    """Hands every result to a running ViewServer; closing it stops the server."""

    def __init__(self, server: Any) -> None:
        self.server = server

    def write(self, result: Result) -> None:
        self.server.view.publish(result)

    def close(self) -> None:
        self.server.close()
