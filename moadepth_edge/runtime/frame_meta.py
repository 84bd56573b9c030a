"""When and where a frame was taken, as a ROS message header says, and the camera that took it.

Sources that know a frame's header (a rosbag2 recording, a ROS 2 topic) attach a `FrameMeta`
to it; for the others (cameras, streams, video files) `frame_meta` derives one from the capture
time. Outputs that speak ROS 2 (the bag writer, the node) copy it into their messages.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..data.sample import Intrinsics


@dataclass(frozen=True)
class CameraModel:
    """A calibrated camera as a sensor_msgs/CameraInfo describes it: pinhole intrinsics for
    frames of `size` (width, height), and the distortion of those pixels."""

    intrinsics: Intrinsics
    size: tuple[int, int]
    distortion_model: str = "plumb_bob"
    distortion: tuple[float, ...] = field(default=(0.0, 0.0, 0.0, 0.0, 0.0))

    def at_size(self, width: int, height: int) -> CameraModel:
        """The same camera for frames resized to `width` x `height` (distortion coefficients
        are in normalised coordinates, so only the intrinsics scale)."""
        w0, h0 = self.size
        if (w0, h0) == (width, height):
            return self
        return CameraModel(self.intrinsics.scaled(width / w0, height / h0), (width, height),
                           self.distortion_model, self.distortion)


@dataclass(frozen=True)
class FrameMeta:
    """A frame's header: `stamp_ns` (nanoseconds since the Unix epoch), `frame_id` ("" when the
    source has none) and, when the source knows it, the camera model of the frame's pixels."""

    stamp_ns: int
    frame_id: str = ""
    camera: CameraModel | None = None

    @classmethod
    def captured_at(cls, perf_time: float) -> FrameMeta:
        """The header of a frame captured at `perf_time` (a time.perf_counter() value)."""
        age_ns = int(max(0.0, time.perf_counter() - perf_time) * 1e9)
        return cls(time.time_ns() - age_ns)


def frame_meta(frame: object) -> FrameMeta:
    """`frame.meta` when its source set one, else its capture time as a wall-clock stamp."""
    meta = getattr(frame, "meta", None)
    return meta if meta is not None else FrameMeta.captured_at(frame.timestamp)  # type: ignore[attr-defined]
