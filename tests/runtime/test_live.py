from __future__ import annotations

import shutil
import time

import cv2
import numpy as np
import pytest

from moadepth_edge.errors import UserError
from moadepth_edge.runtime.live import LiveSource, csi_pipeline
from moadepth_edge.runtime.sources import open_source


def test_camera_that_does_not_exist_is_a_user_error():
    probe = cv2.VideoCapture(0)
    present = probe.isOpened()
    probe.release()
    if present:
        pytest.skip("this machine has a camera 0")
    with pytest.raises(UserError, match="cannot open camera 0"):
        open_source(0)


def test_unreachable_stream_is_a_user_error_without_credentials():
    with pytest.raises(UserError) as info:
        open_source("rtsp://user:secret@127.0.0.1:1/stream", reconnect_s=0)
    assert "secret" not in str(info.value) and "127.0.0.1:1/stream" in str(info.value)


def test_csi_builds_the_argus_pipeline():
    pipeline = csi_pipeline(1, 1920, 1080, 60)
    assert pipeline.startswith("nvarguscamerasrc sensor-id=1 ")
    assert "width=(int)1920, height=(int)1080" in pipeline and "framerate=(fraction)60/1" in pipeline
    assert pipeline.endswith("appsink drop=true max-buffers=1 sync=false")
    if not cv2.videoio_registry.hasBackend(cv2.CAP_GSTREAMER):
        with pytest.raises(UserError, match="GStreamer"):
            open_source("csi://1")
    with pytest.raises(UserError, match="csi://N"):
        open_source("csi://front")


def test_live_source_reconnects_after_a_drop(clip):
    # a video file read as a live source: each end of file is a drop, reopened with backoff
    src = LiveSource(lambda: cv2.VideoCapture(str(clip.video)), "looping clip",
                     reconnect_s=5.0, backoff=(0.01, 0.05))
    try:
        indices = []
        while len(indices) < 2 * clip.n_frames + 3:
            frame = src.read()
            assert frame is not None
            indices.append(frame.index)
        assert src.reconnects >= 1
        assert indices == sorted(set(indices))  # always newer, never repeated
    finally:
        src.close()


def test_live_source_that_stays_down_ends_cleanly(clip, tmp_path):
    video = tmp_path / "camera.mp4"
    shutil.copy(clip.video, video)
    src = LiveSource(lambda: cv2.VideoCapture(str(video)), "flaky camera",
                     reconnect_s=0.5, backoff=(0.05, 0.1))
    video.unlink()  # the device disappears for good after the first connection
    t0 = time.monotonic()
    frames = list(src)
    src.close()
    assert len(frames) <= clip.n_frames
    assert time.monotonic() - t0 < 5.0


def test_live_source_hands_out_only_the_newest_frame(clip):
    src = LiveSource(lambda: cv2.VideoCapture(str(clip.video)), "fast camera",
                     reconnect_s=5.0, backoff=(0.01, 0.02))
    try:
        got = []
        for _ in range(5):
            frame = src.read()
            got.append(frame.index)
            time.sleep(0.05)  # a slow consumer: the reader thread keeps going meanwhile
        assert src.dropped > 0
        assert got == sorted(got) and got[-1] - got[0] > len(got) - 1
    finally:
        src.close()


def test_driver_error_ends_the_stream_instead_of_hanging():
    class _FailingDriver:  # the capture API of a camera whose driver errors after 3 frames
        def __init__(self) -> None:
            self.reads = 0

        def isOpened(self) -> bool:
            return True

        def get(self, prop: int) -> float:
            return 30.0

        def read(self):
            self.reads += 1
            if self.reads > 3:
                raise cv2.error("VIDIOC_DQBUF: No such device")
            return True, np.zeros((4, 4, 3), np.uint8)

        def release(self) -> None:
            pass

    src = LiveSource(_FailingDriver, "usb camera", reconnect_s=0.2)
    t0 = time.monotonic()
    frames = list(src)
    src.close()
    assert 1 <= len(frames) <= 3 and time.monotonic() - t0 < 5.0
