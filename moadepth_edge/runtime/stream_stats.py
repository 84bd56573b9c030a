"""What a multi-stream run measured: each stream's own PipelineStats (frames, FPS, latency,
stages), and for the run as a whole the aggregate frame rate and how full the batched
inference calls were."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .stats import PipelineStats, StageTimer


@dataclass
class MultiStats:
    """`streams`: name -> that stream's stats, in the order given. `calls`: inference calls;
    `batched`: frames they carried (`calls` equal to the frames: one frame per call)."""

    streams: dict[str, PipelineStats] = field(default_factory=dict)
    infer: StageTimer = field(default_factory=StageTimer)  # ms per inference call
    calls: int = 0
    batched: int = 0
    started: float = 0.0
    stop_reason: str = ""
    backend: str = ""
    max_batch: int = 1

    def start(self) -> None:
        self.started = time.perf_counter()
        for stats in self.streams.values():
            stats.start()

    def call(self, frames: int, seconds: float) -> None:
        """One inference call of `frames` frames took `seconds`."""
        self.calls += 1
        self.batched += frames
        self.infer.add(seconds)

    @property
    def frames(self) -> int:
        return sum(s.frames for s in self.streams.values())

    @property
    def wall_s(self) -> float:
        ended = max((s.ended for s in self.streams.values() if s.frames), default=self.started)
        return max(ended - self.started, 1e-9)

    @property
    def fps(self) -> float:
        """Aggregate frames per second: every stream's frames over the run's wall time."""
        return self.frames / self.wall_s if self.frames else 0.0

    @property
    def frames_per_call(self) -> float:
        return self.batched / self.calls if self.calls else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend, "frames": self.frames, "wall_s": self.wall_s, "fps": self.fps,
            "inference_calls": self.calls, "frames_per_call": self.frames_per_call,
            "max_batch": self.max_batch, "infer_ms_per_call": self.infer.summary_ms(),
            "stop_reason": self.stop_reason,
            "streams": {name: s.to_dict() for name, s in self.streams.items()},
        }

    def summary_lines(self) -> list[str]:
        """The run's line (aggregate FPS, frames per inference call) and one line per stream."""
        head = (f"{len(self.streams)} streams, {self.frames} frames in {self.wall_s:.1f} s: "
                f"{self.fps:.1f} FPS aggregate, {self.frames_per_call:.2f} frames per inference call "
                f"(at most {self.max_batch}), {self.infer.summary_ms()['mean']:.1f} ms per call")
        lines = [head]
        for name, s in self.streams.items():
            reason = f" ({s.stop_reason})" if s.stop_reason and s.stop_reason != self.stop_reason else ""
            lines.append(f"  {name}: {s.summary_line()}{reason}")
        return lines
