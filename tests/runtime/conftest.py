"""Runtime fixtures: a small synthetic clip and a video reader (the tiny model and its exports
are the suite's own, in tests/conftest.py)."""
from __future__ import annotations

from pathlib import Path

import pytest


def read_video(path: Path) -> list:
    """Every frame OpenCV decodes from `path` (empty when it does not open)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(image)
    cap.release()
    return frames


@pytest.fixture
def video_frames():
    """`video_frames(path)` -> the list of decoded frames of a video file."""
    return read_video
