"""The streaming pipeline: capture+preprocess | inference | postprocess+output, overlapped.

Worker threads and the caller's thread, joined by hand-overs that a Schedule (scheduling.py)
chooses: files are read ahead and processed losslessly, in order, at the model's throughput;
live sources are scheduled latency-first (inference takes the newest frame the moment it is
free, and output never holds inference back). OpenCV and ONNX Runtime release the GIL, so the
stages overlap. Every exit path (end of input, `q`, Ctrl-C, a signal, max frames, a failing
source or sink) stops the threads and closes the source and every sink, so files written so far
are complete. Inside `signals.deferred()` (the CLI's run and demo) a SIGINT / SIGTERM / SIGHUP
is polled between frames and while waiting for a stalled source: the current frame is finished,
then the run ends like any other.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from .. import signals
from ..errors import RunFailure, UserError, WriteFailed
from .backends.base import Backend
from ..formats.preprocess import Preprocessor, depth_to_frame
from .frame_meta import frame_meta
from .metric_scale import MetricScale
from .redact import redact
from .result import Result
from .scheduling import schedule_for
from .sinks import Sink
from .sources import Frame, Source
from .stats import PipelineStats
from .viz import DepthColorizer, side_by_side

log = logging.getLogger("moadepth_edge.runtime")

_END = object()


def _failed(exc: BaseException) -> str:
    """The summary's stop reason for a run ended by `exc` (the error line gives the details)."""
    return "write failed" if isinstance(exc, WriteFailed) else "failed"


def close_sinks(sinks: Iterable[Sink], stats: Any, raise_errors: bool) -> None:
    """Close every sink even when one fails (each finalises its own files); then raise the
    first failure (its stop reason set on `stats`), unless the run is already ending with another."""
    first: BaseException | None = None
    for sink in sinks:
        try:
            sink.close()
        except Exception as exc:
            if first is None and raise_errors:
                first = exc
            else:
                log.warning("closing %s failed: %s", type(sink).__name__, redact(exc))
    if first is not None:
        stats.stop_reason = _failed(first)
        raise first


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
    and `failure` holds the RunFailure to report. `schedule`: "throughput" or "latency"
    (scheduling.py); by default latency-first for live sources, throughput-first for files.
    `metric`: the stream's MetricScale (its camera's intrinsics); by default none given, so
    only a source's own camera_info rescales depth.
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
        schedule: str | None = None,
        metric: MetricScale | None = None,
    ) -> None:
        self.backend = backend
        self.metric = metric or MetricScale(backend.artifact.model_cfg)
        self.source = source
        self.sinks = list(sinks)
        self.preprocess = Preprocessor(backend.artifact)
        self.smoother = TemporalSmoother(smooth)
        self.colorizer = colorizer or DepthColorizer()
        self.max_frames = max_frames
        self.overlay = overlay
        self.schedule = schedule_for(source.live, schedule, queue_size)
        self.stats = PipelineStats(backend=backend.name, schedule=self.schedule.name)
        self._stop = threading.Event()
        self._frames = self.schedule.frame_handoff()
        self._results = self.schedule.result_handoff()
        self._threads: list[threading.Thread] = []
        self.failure: RunFailure | None = None

    # -- the worker stages --------------------------------------------------------------------
    def _read(self) -> tuple[Frame, np.ndarray, float] | None:
        """The source's next frame, its model input and when it was in hand (None at the end)."""
        timers = self.stats.stages
        t0 = time.perf_counter()
        frame = self.source.read()
        t1 = time.perf_counter()
        if frame is None:
            return None
        batch = self.preprocess(frame.image)
        timers["capture"].add(t1 - t0)
        timers["preprocess"].add(time.perf_counter() - t1)
        return frame, batch, t1

    def _capture(self) -> None:
        """Read-ahead schedules only: read and preprocess into the frame hand-over."""
        assert self._frames is not None
        try:
            while not self._stop.is_set():
                item = self._read()
                if item is None:
                    break
                self._frames.put(item[:2], self._stop)
        except BaseException as exc:  # reported by the output stage, never lost in a thread
            self._frames.put(_Failure("source", exc), self._stop, final=True)
            return
        self._frames.put(_END, self._stop, final=True)

    def _take(self) -> object | None:
        """The inference stage's next input: (frame, batch, age_s), _END, a _Failure, or None
        (nothing yet). Age: how old the frame is when inference takes it."""
        if self._frames is not None:  # read ahead: the oldest frame queued
            item = self._frames.get()
            if isinstance(item, tuple):
                return (*item, time.perf_counter() - item[0].timestamp)
            return item
        try:  # latency-first: the newest frame of the source, now (its read waits for one)
            item = self._read()
        except BaseException as exc:
            return _Failure("source", exc)
        if item is None:
            return _END
        frame, batch, taken = item
        return frame, batch, taken - frame.timestamp

    def _infer(self) -> None:
        timer = self.stats.stages["infer"]
        while not self._stop.is_set():
            item = self._take()
            if item is None:
                continue
            if item is _END or isinstance(item, _Failure):
                self._results.put(item, self._stop, final=True)
                return
            frame, batch, age = item  # type: ignore[misc]
            try:
                t0 = time.perf_counter()
                depth = self.backend.infer(batch)
                timer.add(time.perf_counter() - t0)
            except BaseException as exc:
                self._results.put(_Failure("inference", exc), self._stop, final=True)
                return
            self._results.put((frame, depth, age), self._stop)

    # -- the caller's stage -------------------------------------------------------------------
    def results(self) -> Iterator[Result]:
        """Yield processed frames until the input ends or the consumer stops iterating."""
        self.stats.start()
        self.stats.stop_reason = "end of input"
        self._threads = [threading.Thread(target=self._infer, name="moadepth-infer", daemon=True)]
        if self._frames is not None:
            self._threads.append(threading.Thread(target=self._capture, name="moadepth-capture-pre",
                                                  daemon=True))
        for t in self._threads:
            t.start()
        fps = 0.0
        last = time.perf_counter()
        try:
            while self.max_frames is None or self.stats.frames < self.max_frames:
                if (signum := signals.requested()) is not None:  # after a frame, or while waiting
                    self.stats.stop_reason = f"stopped by {signals.signal_name(signum)}"
                    break
                item = self._results.get()
                if item is None:
                    continue
                if item is _END:
                    break
                if isinstance(item, _Failure):
                    self._fail(item)
                    break
                frame, depth, age = item  # type: ignore[misc]
                yield self._postprocess(frame, depth, age, fps)
                now = time.perf_counter()
                inst = 1.0 / max(now - last, 1e-6)
                fps = inst if fps == 0.0 else 0.9 * fps + 0.1 * inst
                last = now
            else:
                self.stats.stop_reason = f"reached --max-frames {self.max_frames}"
        finally:
            self._shutdown()

    def _postprocess(self, frame: Frame, depth: np.ndarray, age_s: float, fps: float) -> Result:
        t0 = time.perf_counter()
        meta = frame_meta(frame)
        hw = frame.image.shape[:2]
        d = self.smoother(self.metric(depth_to_frame(depth, hw), hw, meta.camera))
        latency = time.perf_counter() - frame.timestamp
        self.stats.stages["postprocess"].add(time.perf_counter() - t0)
        self.stats.frame_done(latency, age_s)
        return Result(frame.index, frame.image, d, latency, fps, name=frame.name, meta=meta,
                      timestamp=frame.timestamp, age_s=age_s)

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
        if self.source.live:  # wakes a thread waiting on a stalled camera; safe here
            self.source.close()
        for t in self._threads:
            t.join(timeout=10.0)
        self.source.close()  # a file's capture is released only once no thread reads it
        handoffs = [h for h in (self._frames, self._results) if h is not None]
        self.stats.dropped += getattr(self.source, "dropped", 0) + sum(h.dropped for h in handoffs)
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
        close_sinks(self.sinks, self.stats, raise_errors)
