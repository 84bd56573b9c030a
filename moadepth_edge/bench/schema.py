"""The benchmark report: a versioned JSON schema, written and read back with validation.

The dataclasses below are the schema. `load_report` checks a JSON document against them
(field names, types, required fields, schema_version) and against what the numbers mean
(p50 <= p90 <= p99, a failed configuration carries its error) before anything reads it.
Bump SCHEMA_VERSION on any change a reader of an older report would misread.
"""
from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import UserError
from ..outputs import write_text
from .measure import LatencyStats, TailStats

SCHEMA_VERSION = 1


class ReportError(UserError):
    """A report file that is not a valid benchmark report of this schema version."""


@dataclass(frozen=True)
class MemoryResult:
    """Peak memory while loading, warming up and timing one configuration (MiB)."""

    host_rss_before_mb: float
    host_rss_peak_mb: float
    model_size_mb: float
    gpu_mem_before_mb: float | None = None
    gpu_mem_peak_mb: float | None = None
    gpu_mem_source: str | None = None


@dataclass(frozen=True)
class PipelineResult:
    """End to end on a video source, one frame at a time: mean ms per frame of each stage."""

    source: str
    frames: int
    fps: float
    stage_ms: dict[str, float]
    frame_p50_ms: float
    frame_p99_ms: float


@dataclass(frozen=True)
class LiveRun:
    """One pipeline schedule on the live source, its rounds pooled. Per processed frame, in
    capture order: glass-to-depth latency (capture timestamp to depth at the frame's size),
    the frame's age when inference took it, and its capture time in seconds since the live
    measurement began (the x axis of the latency-over-time plot)."""

    schedule: str  # one stream: "latency" (latency-first, the live default) | "throughput" (read-ahead);
    # several: "batched" (the frames ready from all streams in one call, as `run`) | "one per call"
    frames: int
    dropped: int  # frames the source delivered in the measured spans that were never processed
    fps: float
    latency: TailStats
    age: TailStats
    stage_ms: dict[str, float]  # mean ms per frame of each pipeline stage
    capture_s: list[float]
    ratio_p50: float  # latency p50 / model-only p50 (model_p50_ms, else LiveResult.model_ms)
    streams: int = 1  # live streams running at once (bench --live-streams)
    stream: str = ""  # the stream this row pools; "all": every stream of the run; "": a single stream
    model_p50_ms: float | None = None  # several streams: model-only p50 of a frame's own inference,
    # one call on `streams` frames ("batched") or on one frame ("one per call")


@dataclass(frozen=True)
class LiveResult:
    """Glass-to-depth latency on a live source: a video replayed as a camera at `paced_fps`
    (newest frame kept), or a real camera or stream (`paced_fps` None)."""

    source: str
    paced_fps: float | None
    frame_size: list[int]  # [height, width]
    seconds: float  # asked for per schedule, in rounds of seconds / the rounds asked for
    rounds: int  # rounds run (fewer than asked when a signal stopped the run)
    model_ms: TailStats  # model-only ms per call on this source's frames, timed between rounds
    replay_lag_ms: TailStats | None  # delivered minus due time of the paced replay's frames
    load_avg_1m: list[float]  # the machine's 1-minute load average at the start and the end
    runs: list[LiveRun]


@dataclass(frozen=True)
class StreamsRow:
    """N streams at once (bench/streams.py): aggregate frames per second over all streams,
    medians over rounds; ratios are medians of the per-round ratios (batched / one per call)."""

    streams: int
    batched_fps: float  # the frames ready from all streams in one inference call
    one_per_call_fps: float  # the same streams, one frame per inference call, in turn
    ratio: float
    model_batched_fps: float  # model only: one call on N frames
    model_one_per_call_fps: float  # model only: N calls on one frame
    model_ratio: float
    frames_per_call: float  # mean frames per inference call of the batched runs
    batched_fps_rounds: list[float]
    one_per_call_fps_rounds: list[float]


@dataclass(frozen=True)
class StreamsResult:
    """Several copies of `source` streamed at once, batched vs one frame per call."""

    source: str
    frame_size: list[int]  # [height, width]
    frames_per_stream: int
    rounds: int
    max_batch: int | None  # the model's limit per call (None: no limit)
    load_avg_1m: list[float]  # the 1-minute load average at the start and the end
    rows: list[StreamsRow]


@dataclass(frozen=True)
class AccuracyResult:
    """Standard depth metrics against ground truth, averaged per image."""

    dataset: str
    images: int
    metrics: dict[str, float]


@dataclass(frozen=True)
class AgreementResult:
    """Agreement with an FP32 reference model on the same inputs (depth in metres)."""

    reference: str
    images: int
    delta1_agreement: float  # fraction of pixels with max(a/b, b/a) < 1.25
    max_abs_err_m: float
    mean_abs_err_m: float


@dataclass(frozen=True)
class ConfigResult:
    """One model x backend x precision x batch x resolution, measured or failed."""

    id: str
    model: str
    role: Literal["toolkit", "baseline"]
    backend: str
    precision: str
    batch: int
    resolution: list[int]  # [height, width] of the input fed to the timed call
    status: Literal["ok", "error"]
    error: str | None = None
    latency: LatencyStats | None = None
    throughput_ips: float | None = None  # images per second at this batch size
    memory: MemoryResult | None = None
    pipeline: PipelineResult | None = None
    live: LiveResult | None = None
    streams: StreamsResult | None = None
    accuracy: AccuracyResult | None = None
    agreement: AgreementResult | None = None
    speedup_model: float | None = None  # baseline p50 latency / this p50 latency
    speedup_pipeline: float | None = None  # this pipeline FPS / baseline pipeline FPS


@dataclass(frozen=True)
class Report:
    created_utc: str
    command: str
    budget: dict[str, Any]
    system: dict[str, Any]
    configs: list[ConfigResult]
    schema_version: int = SCHEMA_VERSION
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def ok(self) -> list[ConfigResult]:
        return [c for c in self.configs if c.status == "ok"]


def save_report(report: Report, path: str | Path) -> Path:
    """Validate and write `report` as indented JSON."""
    data = report.to_dict()
    parse_report(data)
    return write_text(Path(path), json.dumps(data, indent=1) + "\n")


def load_report(path: str | Path) -> Report:
    """Read and validate a report JSON file; raises ReportError with the offending field."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ReportError(f"report not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path} is not JSON: {exc}") from None
    try:
        return parse_report(data)
    except ReportError as exc:
        raise ReportError(f"{path}: {exc}") from None


def parse_report(data: Any) -> Report:
    """Build a Report from plain JSON data, checking every field against the schema."""
    if not isinstance(data, dict) or "schema_version" not in data:
        raise ReportError("not a benchmark report (no schema_version)")
    if data["schema_version"] != SCHEMA_VERSION:
        raise ReportError(f"report schema_version {data['schema_version']!r}; this version reads "
                          f"{SCHEMA_VERSION} (re-run the benchmark)")
    report = _build(Report, data, "report")
    for c in report.configs:
        _check_config(c)
    return report


def _check_config(c: ConfigResult) -> None:
    where = f"config {c.id!r}"
    if c.status == "error" and not c.error:
        raise ReportError(f"{where} failed but records no error")
    if c.status == "ok" and c.latency is None and c.pipeline is None:
        raise ReportError(f"{where} is ok but has neither latency nor pipeline numbers")
    lat = c.latency
    if lat is not None and not (lat.min <= lat.p50 <= lat.p90 <= lat.p99 <= lat.max):
        raise ReportError(f"{where}: latency percentiles out of order "
                          f"(min {lat.min}, p50 {lat.p50}, p90 {lat.p90}, p99 {lat.p99}, max {lat.max})")
    if lat is not None and lat.n != len(lat.samples_ms):
        raise ReportError(f"{where}: latency.n is {lat.n} but {len(lat.samples_ms)} samples are stored")
    for row in c.streams.rows if c.streams else []:
        if not len(row.batched_fps_rounds) == len(row.one_per_call_fps_rounds) == c.streams.rounds:
            raise ReportError(f"{where}: {row.streams} streams: {len(row.batched_fps_rounds)} and "
                              f"{len(row.one_per_call_fps_rounds)} rounds stored for {c.streams.rounds}")
    for run in c.live.runs if c.live else []:
        for name, tail in (("latency", run.latency), ("age", run.age)):
            if not tail.p50 <= tail.p95 <= tail.p99 <= tail.max or tail.n != len(tail.samples_ms):
                raise ReportError(f"{where}: live {run.schedule} {name} percentiles out of order or "
                                  f"n ({tail.n}) unlike the {len(tail.samples_ms)} samples stored")
        if len(run.capture_s) != run.latency.n:
            raise ReportError(f"{where}: live {run.schedule} has {len(run.capture_s)} capture times "
                              f"for {run.latency.n} latencies")


def _build(tp: Any, value: Any, path: str) -> Any:
    """Check `value` against type `tp` and return it converted (dataclasses rebuilt)."""
    if tp is Any:
        return value
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _build(inner[0] if len(inner) == 1 else Any, value, path)
    if origin is Literal:
        if value not in args:
            raise ReportError(f"{path} is {value!r}; expected one of {list(args)}")
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ReportError(f"{path} must be an object")
        hints = typing.get_type_hints(tp)
        known = {f.name: f for f in dataclasses.fields(tp)}
        unknown = set(value) - set(known)
        if unknown:
            raise ReportError(f"{path} has unknown fields {sorted(unknown)}")
        kwargs = {}
        for name, f in known.items():
            if name in value:
                kwargs[name] = _build(hints[name], value[name], f"{path}.{name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ReportError(f"{path}.{name} is missing")
        return tp(**kwargs)
    if origin is list:
        if not isinstance(value, list):
            raise ReportError(f"{path} must be a list")
        return [_build(args[0], v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ReportError(f"{path} must be an object")
        return {k: _build(args[1], v, f"{path}.{k}") for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ReportError(f"{path} must be a number, got {value!r}")
        return float(value)
    if tp in (int, str, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise ReportError(f"{path} must be {tp.__name__}, got {value!r}")
        return value
    raise TypeError(f"schema type {tp!r} at {path} is not supported")  # a bug here, not user input
