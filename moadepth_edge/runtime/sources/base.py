"""The frame-source protocol shared by file and live sources: `Frame` and `Source`."""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Iterator

# FFmpeg prints its own errors ("Connection refused", decode warnings) straight to stderr; the
# runtime reports failures itself, so keep FFmpeg to fatal messages unless the user chose.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "8")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from ..frame_meta import FrameMeta  # noqa: E402


@dataclass
class Frame:
    """One captured frame: BGR uint8 image, its index in the source, capture time (perf_counter),
    and for image files the input's name (its stem), which outputs keep; its header (stamp,
    frame_id, camera) when the source has one (rosbag2, ROS 2 topics)."""

    index: int
    image: np.ndarray
    timestamp: float
    name: str = ""
    meta: FrameMeta | None = None


class Source(ABC):
    """A frame source. `read()` returns the next Frame, or None at the end of input."""

    live: ClassVar[bool] = False

    def __init__(self, description: str) -> None:
        self.description = description
        self.skipped = 0  # unreadable frames / images passed over

    @property
    def fps(self) -> float | None:
        """The nominal frame rate, when the source reports one."""
        return None

    @abstractmethod
    def read(self) -> Frame | None:
        ...

    def close(self) -> None:
        pass

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class quiet_opencv:
    """Context manager: silence OpenCV's own log lines (below `level`, default its ERROR lines
    stay) while a capture or writer opens or writes; the runtime reports failures itself."""

    def __init__(self, level: int | None = None) -> None:
        self.level = cv2.utils.logging.LOG_LEVEL_ERROR if level is None else level

    def __enter__(self) -> None:
        self._level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(self.level)

    def __exit__(self, *exc: object) -> None:
        cv2.utils.logging.setLogLevel(self._level)
