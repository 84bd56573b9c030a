"""What the pipeline hands to sinks and to `DepthEstimator.stream` callers: one processed frame."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .frame_meta import FrameMeta


@dataclass
class Result:
    """One processed frame as the sinks see it."""

    index: int
    image: np.ndarray  # BGR uint8, the source frame
    depth: np.ndarray  # HxW float32 metres at the frame's size
    latency_s: float = 0.0  # capture -> depth ready
    fps: float = 0.0  # recent end-to-end throughput
    timestamp: float = 0.0  # the frame's capture time (time.perf_counter clock)
    age_s: float = 0.0  # how old the frame was when inference took it
    canvas: np.ndarray | None = field(default=None, repr=False)  # frame | coloured depth
    name: str = ""  # the input image's stem; "" for video and camera frames
    meta: FrameMeta | None = None  # the frame's header: stamp, frame_id, camera (frame_meta.py)

    @property
    def stem(self) -> str:
        """The file name outputs of this frame take: the input's stem, else the frame index."""
        return self.name or f"{self.index:06d}"
