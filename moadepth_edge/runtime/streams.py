"""Several streams through one model: per-stream readers, one batcher, per-stream outputs.

    readers (one thread per stream) -> StreamSlots -> batcher (one thread) -> StreamSlots -> output

Each stream is read on its own thread, so a stream that stalls (a silent camera) or ends never
holds up the others. File streams are read and preprocessed ahead, losslessly and in order;
a live stream keeps only its newest frame, preprocessed when the batcher takes it (no work on
frames that will be dropped). The batcher takes the frames ready from all streams at that
moment - waiting only while none is - and runs them through one batched inference call (calls
of the backend's `max_batch` at most; frames of different sizes, possible with a frame-input
model, go in separate calls). Results go back to their stream: its own temporal smoothing,
depth scale, sinks, FPS, latency and stop reason. A stream whose source fails ends with its
outputs finalised and the others go on; the run then reports the failure (`failure`).
`batching=False` runs the same streams one frame per call, in turn (what bench compares).
One stream in `run` or `DepthEstimator.stream` uses the single-stream Pipeline instead.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Iterator, Sequence

import numpy as np

from .. import signals
from ..data.sample import Intrinsics
from ..errors import RunFailure
from ..formats.preprocess import Preprocessor, depth_to_frame
from .backends.base import Backend
from .frame_meta import frame_meta
from .pipeline import TemporalSmoother, _failed, close_sinks
from .redact import redact
from .result import Result
from .sinks import Sink
from .sources import Frame, Source
from .stats import PipelineStats
from .stream_slots import Final, StreamSlots
from .metric_scale import MetricScale
from .stream_stats import MultiStats
from .viz import DepthColorizer, side_by_side

log = logging.getLogger("moadepth_edge.runtime")


@dataclass
class Stream:
    """One stream and what is its own: source, sinks, camera, and the run's state for it.
    `metric` scales its depth to its camera (runtime/metric_scale.py); None: one is made from
    `intrinsics` (for the frames as they arrive), or, without, from each frame's camera_info."""

    name: str
    source: Source
    sinks: list[Sink] = field(default_factory=list)
    metric: MetricScale | None = None
    intrinsics: Intrinsics | None = None
    # set by MultiPipeline
    stats: PipelineStats = field(default_factory=PipelineStats, repr=False)
    failure: RunFailure | None = field(default=None, repr=False)
    halt: threading.Event = field(default_factory=threading.Event, repr=False)


class MultiPipeline:
    """Streams `streams` through `backend`. `results()` yields each stream's processed frames
    (Result.stream names it) as they come; `run()` also renders and writes every stream's
    sinks (and `sinks`, shared by all) and returns the MultiStats. `max_frames` is per stream."""

    def __init__(
        self,
        backend: Backend,
        streams: Sequence[Stream],
        sinks: Sequence[Sink] = (),
        *,
        smooth: float = 0.0,
        colorizer: DepthColorizer | None = None,
        max_frames: int | None = None,
        batching: bool = True,
        overlay: bool = True,
        queue_size: int = 2,
    ) -> None:
        names = [s.name for s in streams]
        if not streams or len(set(names)) != len(names):
            raise ValueError(f"streams need unique names, got {names}")
        self.backend = backend
        self.streams = list(streams)
        self.sinks = list(sinks)
        self.preprocess = Preprocessor(backend.artifact)
        self.max_frames = max_frames
        self.overlay = overlay
        limit = backend.max_batch or len(self.streams)
        self.max_batch = min(limit, len(self.streams)) if batching else 1
        self.batching = batching
        base = colorizer or DepthColorizer()
        self._smoothers = [TemporalSmoother(smooth) for _ in self.streams]
        self._colorizers = [replace(base) for _ in self.streams]  # auto ranges are per stream
        self.stats = MultiStats(backend=backend.name, max_batch=self.max_batch)
        for s in self.streams:
            if s.metric is None:
                s.metric = MetricScale(backend.artifact.model_cfg, s.intrinsics)
            s.stats = PipelineStats(backend=backend.name, schedule="newest" if s.source.live else "in order")
            self.stats.streams[s.name] = s.stats
        self._inbox = StreamSlots([not s.source.live for s in self.streams], queue_size)
        self._outbox = StreamSlots([not s.source.live for s in self.streams], queue_size)
        self._stop = threading.Event()
        self._fatal: BaseException | None = None
        self._threads: list[threading.Thread] = []

    @property
    def failure(self) -> RunFailure | None:
        """One RunFailure naming every stream whose source failed (None: none did)."""
        failed = [s for s in self.streams if s.failure is not None]
        if not failed:
            return None
        if len(failed) == 1 and len(self.streams) == 1:
            return failed[0].failure
        what = "; ".join(f"stream {s.name}: {s.failure}" for s in failed)
        others = len(self.streams) - len(failed)
        return RunFailure(f"{what} ({others} other stream(s) ran on, their outputs are complete)")

    # -- the worker threads -------------------------------------------------------------------
    def _prep(self, k: int, frame: Frame) -> np.ndarray:
        t0 = time.perf_counter()
        batch = self.preprocess(frame.image)
        self.streams[k].stats.stages["preprocess"].add(time.perf_counter() - t0)
        return batch

    def _reader(self, k: int) -> None:
        """Stream k's frames into the inbox (files preprocessed here, live ones when taken)."""
        s = self.streams[k]
        try:
            while not s.halt.is_set():
                t0 = time.perf_counter()
                frame = s.source.read()
                if frame is None:
                    break
                s.stats.stages["capture"].add(time.perf_counter() - t0)
                batch = None if s.source.live else self._prep(k, frame)
                if not self._inbox.put(k, (frame, batch), s.halt):
                    return
        except BaseException as exc:  # reported by the output stage as this stream's failure
            self._inbox.finish(k, Final(exc))
            return
        self._inbox.finish(k, Final())

    def _batcher(self) -> None:
        open_streams, turn = len(self.streams), 0
        try:
            while open_streams and not self._stop.is_set():
                ready = self._inbox.take_ready(limit=None if self.batching else 1, start=turn)
                turn = (turn + 1) % len(self.streams)
                taken = time.perf_counter()
                work = []
                for k, item in ready:
                    if isinstance(item, Final):
                        self._outbox.finish(k, item)
                        open_streams -= 1
                        continue
                    frame, batch = item  # type: ignore[misc]
                    batch = self._prep(k, frame) if batch is None else batch
                    work.append((k, frame, batch, taken - frame.timestamp))
                for group in self._calls(work):
                    self._infer(group)
        except BaseException as exc:  # inference itself failed: the whole run ends with it
            self._fatal = exc
            for k in range(len(self.streams)):
                self._outbox.finish(k, Final(exc))

    def _calls(self, work: list) -> Iterator[list]:
        """The inference calls for `work`: same-shape inputs together, max_batch at most."""
        by_shape: dict[tuple, list] = {}
        for item in work:
            by_shape.setdefault(item[2].shape[1:], []).append(item)
        for items in by_shape.values():
            for i in range(0, len(items), self.max_batch):
                yield items[i:i + self.max_batch]

    def _infer(self, group: list) -> None:
        batch = group[0][2] if len(group) == 1 else np.concatenate([g[2] for g in group])
        t0 = time.perf_counter()
        depth = self.backend.infer(batch)
        seconds = time.perf_counter() - t0
        self.stats.call(len(group), seconds)
        for j, (k, frame, _, age) in enumerate(group):
            s = self.streams[k]
            s.stats.stages["infer"].add(seconds)
            self._outbox.put(k, (frame, depth[j:j + 1], age), s.halt)

    # -- the caller's stage -------------------------------------------------------------------
    def results(self) -> Iterator[Result]:
        """Every stream's processed frames, as they come, until all streams ended (or a stop)."""
        n = len(self.streams)
        self.stats.start()
        self.stats.stop_reason = "end of input"
        self._threads = [threading.Thread(target=self._batcher, name="moadepth-batcher", daemon=True)]
        self._threads += [threading.Thread(target=self._reader, args=(k,), name=f"moadepth-read-{s.name}",
                                           daemon=True) for k, s in enumerate(self.streams)]
        for t in self._threads:
            t.start()
        done: set[int] = set()
        last = [time.perf_counter()] * n
        fps = [0.0] * n
        turn = 0
        try:
            while len(done) < n:
                if (signum := signals.requested()) is not None:
                    self.stats.stop_reason = f"stopped by {signals.signal_name(signum)}"
                    break
                ready = self._outbox.take_ready(start=turn)
                turn = (turn + 1) % n
                for k, item in ready:
                    if k in done:
                        continue
                    if isinstance(item, Final):
                        if self._fatal is not None:
                            raise self._fatal
                        self._end(k, item.error)
                        done.add(k)
                        continue
                    yield self._postprocess(k, *item, fps[k])  # type: ignore[misc]
                    now = time.perf_counter()
                    inst = 1.0 / max(now - last[k], 1e-6)
                    fps[k] = inst if fps[k] == 0.0 else 0.9 * fps[k] + 0.1 * inst
                    last[k] = now
                    if self.max_frames is not None and self.streams[k].stats.frames >= self.max_frames:
                        self.streams[k].stats.stop_reason = f"reached --max-frames {self.max_frames}"
                        self._halt(k)
                        done.add(k)
            if len(done) == n and all(s.stats.stop_reason.startswith("reached") for s in self.streams):
                self.stats.stop_reason = f"reached --max-frames {self.max_frames}"
        finally:
            self._shutdown()

    def _postprocess(self, k: int, frame: Frame, depth: np.ndarray, age_s: float, fps: float) -> Result:
        s = self.streams[k]
        t0 = time.perf_counter()
        meta, hw = frame_meta(frame), frame.image.shape[:2]
        assert s.metric is not None
        d = self._smoothers[k](s.metric(depth_to_frame(depth, hw), hw, meta.camera))
        latency = time.perf_counter() - frame.timestamp
        s.stats.stages["postprocess"].add(time.perf_counter() - t0)
        s.stats.frame_done(latency, age_s)
        return Result(frame.index, frame.image, d, latency, fps, name=frame.name, meta=meta,
                      timestamp=frame.timestamp, age_s=age_s, stream=s.name)

    def _end(self, k: int, error: BaseException | None) -> None:
        s = self.streams[k]
        if error is None:
            s.stats.stop_reason = "end of input"
            return
        s.stats.stop_reason = redact(f"source failed: {error}")
        s.failure = error if isinstance(error, RunFailure) else RunFailure(redact(
            f"{s.source.description} failed after {s.stats.frames} frames: {error}"))
        log.warning("stream %s: %s; the other streams go on", s.name, redact(s.failure))

    def _halt(self, k: int) -> None:
        s = self.streams[k]
        s.halt.set()
        if s.source.live:  # wakes its reader if it waits on a stalled camera
            s.source.close()
        self._inbox.discard(k)
        self._outbox.discard(k)

    def _shutdown(self) -> None:
        self._stop.set()
        for k in range(len(self.streams)):
            self._halt(k)
        for t in self._threads:
            t.join(timeout=10.0)
        for k, s in enumerate(self.streams):
            s.source.close()
            s.stats.dropped += getattr(s.source, "dropped", 0) + self._inbox.dropped[k] + self._outbox.dropped[k]
            s.stats.skipped += s.source.skipped
            if not s.stats.stop_reason:
                s.stats.stop_reason = self.stats.stop_reason

    # -- sinks --------------------------------------------------------------------------------
    def run(self) -> MultiStats:
        """Stream to every stream's sinks until all streams end; returns the stats. Every sink is
        closed on every exit path; a sink that fails raises (WriteFailed) once all are closed."""
        by_name = {s.name: (k, s) for k, s in enumerate(self.streams)}
        results = self.results()
        failed = True
        try:
            for result in results:
                k, s = by_name[result.stream]
                t0 = time.perf_counter()
                sinks = [*s.sinks, *self.sinks]
                if any(sink.needs_canvas for sink in sinks):
                    result.canvas = self.render(k, result)
                for sink in sinks:
                    sink.write(result)
                s.stats.stages["output"].add(time.perf_counter() - t0)
                if any(sink.stop_requested for sink in sinks):
                    self.stats.stop_reason = "stopped by the user"
                    break
            failed = False
        except KeyboardInterrupt:
            self.stats.stop_reason = "interrupted"
            failed = False
        except BaseException as exc:
            self.stats.stop_reason = _failed(exc)
            raise
        finally:
            results.close()
            self._close_sinks(raise_errors=not failed)
        return self.stats

    def render(self, k: int, result: Result) -> np.ndarray:
        """Stream k's side-by-side picture: frame | coloured depth, its name, FPS and latency."""
        lines = None
        if self.overlay:
            lines = [f"{result.stream}  {result.fps:5.1f} FPS  {1e3 * result.latency_s:4.0f} ms", self.backend.name]
        return side_by_side(result.image, self._colorizers[k](result.depth), lines)

    def _close_sinks(self, raise_errors: bool) -> None:
        close_sinks([*(x for s in self.streams for x in s.sinks), *self.sinks], self.stats, raise_errors)
