"""Per-stage timings of a streaming run (capture, preprocess, infer, postprocess, output).

Shared by `moadepth-edge run` (its summary line), the overlap measurement and `moadepth-edge
bench`. Stage timers are appended to from the pipeline's threads; each keeps running totals
and a bounded window of recent samples for percentiles, so a long camera run stays small.
Besides the stages, two measured quantities per frame: the latency (capture timestamp to depth
at the frame's size) and the frame's age when the inference stage took it.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

STAGES = ("capture", "preprocess", "infer", "postprocess", "output")


@dataclass
class StageTimer:
    """Durations (seconds) of one stage: count/total over the whole run, recent samples kept."""

    window: int = 4096
    count: int = 0
    total: float = 0.0
    samples: deque = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.samples = deque(maxlen=self.window)

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        self.samples.append(seconds)

    def summary_ms(self) -> dict[str, float]:
        if not self.samples:
            return {"mean": 0.0, "p50": 0.0, "p95": 0.0}
        arr = np.fromiter(self.samples, float) * 1e3
        return {
            "mean": 1e3 * self.total / self.count,
            "p50": float(np.percentile(arr, 50)),
            "p95": float(np.percentile(arr, 95)),
        }


@dataclass
class PipelineStats:
    """What a run measured. `fps` is frames out over wall time from start to the last frame."""

    stages: dict[str, StageTimer] = field(default_factory=lambda: {s: StageTimer() for s in STAGES})
    latency: StageTimer = field(default_factory=StageTimer)  # capture -> depth ready
    age: StageTimer = field(default_factory=StageTimer)  # capture -> taken by inference
    frames: int = 0
    dropped: int = 0  # live frames superseded before they were processed
    skipped: int = 0  # unreadable frames / images passed over by the source
    started: float = 0.0
    ended: float = 0.0
    stop_reason: str = ""
    backend: str = ""
    schedule: str = ""  # "throughput" | "latency" (runtime/scheduling.py)

    def start(self) -> None:
        self.started = self.ended = time.perf_counter()

    def frame_done(self, latency_s: float, age_s: float | None = None) -> None:
        self.frames += 1
        self.latency.add(latency_s)
        if age_s is not None:
            self.age.add(age_s)
        self.ended = time.perf_counter()

    @property
    def wall_s(self) -> float:
        return max(self.ended - self.started, 1e-9)

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.frames else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "frames": self.frames,
            "dropped": self.dropped,
            "skipped": self.skipped,
            "wall_s": self.wall_s,
            "fps": self.fps,
            "schedule": self.schedule,
            "latency_ms": self.latency.summary_ms(),
            "age_at_inference_ms": self.age.summary_ms(),
            "stages_ms": {name: t.summary_ms() for name, t in self.stages.items()},
            "stop_reason": self.stop_reason,
        }

    def summary_line(self) -> str:
        lat = self.latency.summary_ms()
        stages = "  ".join(f"{n} {t.summary_ms()['mean']:.1f}" for n, t in self.stages.items())
        extra = ""
        if self.schedule == "latency" and self.age.count:
            extra += f", frame age at inference p50 {self.age.summary_ms()['p50']:.0f} ms"
        extra += f", {self.dropped} dropped" if self.dropped else ""
        extra += f", {self.skipped} unreadable skipped" if self.skipped else ""
        return (f"{self.frames} frames in {self.wall_s:.1f} s: {self.fps:.1f} FPS, latency "
                f"p50 {lat['p50']:.0f} ms p95 {lat['p95']:.0f} ms{extra} | mean ms: {stages}")
