"""Fixtures: the synthetic clip's frames, its camera model, and the clip as an MCAP bag."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("rosbags", reason="rosbags (the `ros` extra, part of `dev`) is not installed")

from bag_helpers import write_bag  # noqa: E402

from moadepth_edge.runtime.frame_meta import CameraModel  # noqa: E402


@pytest.fixture(scope="session")
def clip_frames(clip) -> list[np.ndarray]:
    """The synthetic clip's frames (BGR), as the video decodes them."""
    cap = cv2.VideoCapture(str(clip.video))
    frames = []
    while (item := cap.read())[0]:
        frames.append(item[1])
    cap.release()
    assert len(frames) == clip.n_frames
    return frames


@pytest.fixture(scope="session")
def clip_camera(clip) -> CameraModel:
    h, w = clip.size
    return CameraModel(clip.intrinsics, (w, h), "plumb_bob", (0.01, -0.02, 0.0, 0.0, 0.0))


@pytest.fixture(scope="session")
def clip_bag(tmp_path_factory, clip_frames, clip_camera) -> tuple[Path, list[int]]:
    """The clip as an MCAP rosbag2 folder: rgb8 images + camera_info; (path, stamps)."""
    path = tmp_path_factory.mktemp("bags") / "clip_bag"
    return path, write_bag(path, clip_frames, clip_camera)
