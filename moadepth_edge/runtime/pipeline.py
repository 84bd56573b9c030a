"""The streaming pipeline: capture+preprocess | inference | postprocess+output, overlapped.

Two worker threads and the caller's thread, joined by bounded queues, so decoding the next
frame and writing the last one happen while the model runs (OpenCV and ONNX Runtime release
the GIL). File sources block on full queues (lossless); live sources drop the oldest queued
frame instead (no lag builds up). Every exit path (end of input, `q`, Ctrl-C, a signal, max
frames, a failing source or sink) stops the threads and closes the source and every sink, so
files written so far are complete. Inside `signals.deferred()` (the CLI's run and demo) a
SIGINT / SIGTERM / SIGHUP is polled between frames and while waiting for a stalled source: the
current frame is finished, then the run ends like any other.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from .. import signals
from ..errors import RunFailure, UserError, WriteFailed
from .backends.base import Backend
from ..formats.preprocess import Preprocessor, depth_to_frame
from .frame_meta import frame_meta
from .redact import redact
from .result import Result
from .sinks import Sink
from .sources import Frame, Source
from .stats import PipelineStats
from .viz import DepthColorizer, side_by_side

log = logging.getLogger("moadepth_edge.runtime")

_END = object()


def _failed(exc: BaseException) -> str:
    """The summary's stop reason for a run ended by `exc` (the error line gives the details)."""
    return "write failed" if isinstance(exc, WriteFailed) else "failed"


@dataclass
class _Failure:
    stage: str
    error: BaseException


class TemporalSmoother:
    """Exponential moving average of depth over frames: out = (1-a)·new + a·previous.
    a = 0 turns it off; it resets when the frame size changes."""

    def __init__(self, alpha: float = 0.0) -> None:
        if not 0.0 <= alpha < 1.0:
            raise UserError(f"smoothing must be in [0, 1), got {alpha}")
        self.alpha = alpha
        self.state: np.ndarray | None = None

    def __call__(self, depth: np.ndarray) -> np.ndarray:
        if self.alpha == 0.0:
            return depth
        if self.state is None or self.state.shape != depth.shape:
            self.state = depth.copy()
        else:
            self.state *= self.alpha
            self.state += (1.0 - self.alpha) * depth
        return self.state.copy()


class Pipeline:
    """Streams `source` through `backend` into `sinks`.

    `results()` yields each processed frame (depth at the frame's size) for embedding;
    `run()` also renders and writes the sinks and returns the run's PipelineStats. A Pipeline
    streams once: it closes its source (and sinks) when it ends. When the source failed
    (a camera unplugged, a stream silent past its timeout) the run ends with the frames so far
    and `failure` holds the RunFailure to report.
    """

    def __init__(
        self,
        backend: Backend,
        source: Source,
        sinks: Sequence[Sink] = (),
        *,
        smooth: float = 0.0,
        colorizer: DepthColorizer | None = None,
        max_frames: int | None = None,
        queue_size: int | None = None,
        overlay: bool = True,
    ) -> None:
        self.backend = backend
        self.source = source
        self.sinks = list(sinks)
        self.preprocess = Preprocessor(backend.artifact)
        self.smoother = TemporalSmoother(smooth)
        self.colorizer = colorizer or DepthColorizer()
        self.max_frames = max_frames
        self.overlay = overlay
        self.stats = PipelineStats(backend=backend.name)
        self._stop = threading.Event()
        # one frame in flight per stage on a live source keeps latency low; files read ahead
        size = queue_size or (1 if source.live else 2)
        self._q_in: queue.Queue = queue.Queue(maxsize=size)
        self._q_out: queue.Queue = queue.Queue(maxsize=size)
        self._threads: list[threading.Thread] = []
        self.failure: RunFailure | None = None

    # -- the two worker stages ----------------------------------------------------------------
    def _capture(self) -> None:
        timers = self.stats.stages
        try:
            while not self._stop.is_set():
                t0 = time.perf_counter()
                frame = self.source.read()
                t1 = time.perf_counter()
                if frame is None:
                    break
                batch = self.preprocess(frame.image)
                timers["capture"].add(t1 - t0)
                timers["preprocess"].add(time.perf_counter() - t1)
                self._put(self._q_in, (frame, batch), drop_oldest=self.source.live)
        except BaseException as exc:  # reported by the output stage, never lost in a thread
            self._put(self._q_in, _Failure("source", exc))
            return
        self._put(self._q_in, _END)

    def _infer(self) -> None:
        timer = self.stats.stages["infer"]
        while not self._stop.is_set():
            item = self._get(self._q_in)
            if item is None:
                continue
            if item is _END or isinstance(item, _Failure):
                self._put(self._q_out, item)
                return
            frame, batch = item
            try:
                t0 = time.perf_counter()
                depth = self.backend.infer(batch)
                timer.add(time.perf_counter() - t0)
            except BaseException as exc:
                self._put(self._q_out, _Failure("inference", exc))
                return
            self._put(self._q_out, (frame, depth))

    # -- queue helpers that never block past a stop request -----------------------------------
    def _put(self, q: queue.Queue, item: object, drop_oldest: bool = False) -> None:
        while not self._stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return
            except queue.Full:
                if drop_oldest:
                    try:
                        q.get_nowait()
                        self.stats.dropped += 1
                    except queue.Empty:
                        pass

    def _get(self, q: queue.Queue) -> object | None:
        try:
            return q.get(timeout=0.05)
        except queue.Empty:
            return None

    # -- the caller's stage -------------------------------------------------------------------
    def results(self) -> Iterator[Result]:
        """Yield processed frames until the input ends or the consumer stops iterating."""
        self.stats.start()
        self.stats.stop_reason = "end of input"
        self._threads = [
            threading.Thread(target=self._capture, name="moadepth-capture-pre", daemon=True),
            threading.Thread(target=self._infer, name="moadepth-infer", daemon=True),
        ]
        for t in self._threads:
            t.start()
        fps = 0.0
        last = time.perf_counter()
        try:
            while self.max_frames is None or self.stats.frames < self.max_frames:
                if (signum := signals.requested()) is not None:  # after a frame, or while waiting
                    self.stats.stop_reason = f"stopped by {signals.signal_name(signum)}"
                    break
                item = self._get(self._q_out)
                if item is None:
                    continue
                if item is _END:
                    break
                if isinstance(item, _Failure):
                    self._fail(item)
                    break
                frame, depth = item
                yield self._postprocess(frame, depth, fps)
                now = time.perf_counter()
                inst = 1.0 / max(now - last, 1e-6)
                fps = inst if fps == 0.0 else 0.9 * fps + 0.1 * inst
                last = now
            else:
                self.stats.stop_reason = f"reached --max-frames {self.max_frames}"
        finally:
            self._shutdown()

    def _postprocess(self, frame: Frame, depth: np.ndarray, fps: float) -> Result:
        t0 = time.perf_counter()
        d = self.smoother(depth_to_frame(depth, frame.image.shape[:2]))
        latency = time.perf_counter() - frame.timestamp
        self.stats.stages["postprocess"].add(time.perf_counter() - t0)
        self.stats.frame_done(latency)
        return Result(frame.index, frame.image, d, latency, fps, name=frame.name, meta=frame_meta(frame))

    def _fail(self, failure: _Failure) -> None:
        if failure.stage == "source":
            # a camera or file that breaks mid-run ends the run; what was written stays valid
            error = failure.error
            self.stats.stop_reason = redact(f"source failed: {error}")
            self.failure = error if isinstance(error, RunFailure) else RunFailure(redact(
                f"{self.source.description} failed after {self.stats.frames} frames: {error}"))
            return
        raise failure.error

    def _shutdown(self) -> None:
        self._stop.set()
        if self.source.live:  # wakes a capture thread waiting on a stalled camera; safe here
            self.source.close()
        for t in self._threads:
            t.join(timeout=10.0)
        self.source.close()  # a file's capture is released only once no thread reads it
        self.stats.dropped += getattr(self.source, "dropped", 0)
        self.stats.skipped += self.source.skipped

    def run(self) -> PipelineStats:
        """Stream to the sinks until the end; returns the stats (stop_reason says why it ended;
        `failure` is set when the source failed). Ctrl-C ends the run cleanly. Sinks are
        always closed; a sink that fails to write or to finalise raises (WriteFailed) after
        every sink was closed."""
        timer = self.stats.stages["output"]
        need_canvas = any(s.needs_canvas for s in self.sinks)
        results = self.results()
        failed = True
        try:
            for result in results:
                t0 = time.perf_counter()
                if need_canvas:
                    result.canvas = self.render(result)
                for sink in self.sinks:
                    sink.write(result)
                timer.add(time.perf_counter() - t0)
                if any(s.stop_requested for s in self.sinks):
                    self.stats.stop_reason = "stopped by the user"
                    break
            failed = False
        except KeyboardInterrupt:
            self.stats.stop_reason = "interrupted"
            failed = False
        except BaseException as exc:  # the exception itself says what failed
            self.stats.stop_reason = _failed(exc)
            raise
        finally:
            results.close()
            self._close_sinks(raise_errors=not failed)
        return self.stats

    def render(self, result: Result) -> np.ndarray:
        """The side-by-side picture: frame | coloured depth with its legend, FPS and latency."""
        lines = None
        if self.overlay:
            lines = [f"{result.fps:5.1f} FPS  {1e3 * result.latency_s:4.0f} ms", self.backend.name]
        return side_by_side(result.image, self.colorizer(result.depth), lines)

    def _close_sinks(self, raise_errors: bool) -> None:
        """Close every sink even when one fails (each finalises its own files); then raise the
        first failure, unless the run is already ending with another."""
        first: BaseException | None = None
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as exc:
                if first is None and raise_errors:
                    first = exc
                else:
                    log.warning("closing %s failed: %s", type(sink).__name__, redact(exc))
        if first is not None:
            self.stats.stop_reason = _failed(first)
            raise first
