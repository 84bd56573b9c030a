from __future__ import annotations

import shutil
import time

import cv2
import numpy as np
import pytest

from mjpeg_server import SilentCamera

from moadepth_edge.errors import RunFailure, UserError
from moadepth_edge.runtime.sources.live import LiveSource, csi_pipeline
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
        open_source("rtsp://user:se/cr@et@127.0.0.1:1/stream", timeout_s=1)
    assert str(info.value) == "cannot open stream rtsp://***@127.0.0.1:1/stream"


@pytest.mark.parametrize("index", [-1, -2, 100, 2**31])
def test_camera_indices_opencv_cannot_take_are_user_errors(index):
    with pytest.raises(UserError, match=r"camera index must be 0\.\.99"):
        open_source(index)  # -1 used to crash OpenCV (SIGSEGV); >= 100 picks another backend


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
                     timeout_s=5.0, backoff=(0.01, 0.05))
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


def _read_until_failure(src: LiveSource) -> tuple[int, RunFailure]:
    """Frames read before `src` raised, and what it raised."""
    frames = 0
    try:
        while src.read() is not None:
            frames += 1
    except RunFailure as exc:
        return frames, exc
    finally:
        src.close()
    raise AssertionError("the source ended without a RunFailure")


def test_live_source_that_stays_down_fails_after_its_timeout(clip, tmp_path):
    video = tmp_path / "camera.mp4"
    shutil.copy(clip.video, video)
    src = LiveSource(lambda: cv2.VideoCapture(str(video)), "flaky camera",
                     timeout_s=0.5, backoff=(0.05, 0.1))
    video.unlink()  # the device disappears for good after the first connection
    t0 = time.monotonic()
    frames, failure = _read_until_failure(src)
    assert frames <= clip.n_frames and time.monotonic() - t0 < 5.0
    assert str(failure) == "flaky camera delivered no frame for 0.5 s (--source-timeout); giving up"


class _OpensButNeverDelivers:
    """The capture API of a stream whose every (re)open succeeds and whose reads all fail."""

    opens = 0

    def __init__(self) -> None:
        type(self).opens += 1

    def isOpened(self) -> bool:
        return True

    def get(self, prop: int) -> float:
        return 0.0

    def read(self):
        return False, None

    def release(self) -> None:
        pass


def test_a_stream_that_opens_but_never_delivers_does_not_loop_forever():
    src = LiveSource(_OpensButNeverDelivers, "stream rtsp://u:p@cam/s", timeout_s=0.6, backoff=(0.01, 0.02))
    t0 = time.monotonic()
    frames, failure = _read_until_failure(src)
    assert frames == 0 and time.monotonic() - t0 < 3.0
    assert _OpensButNeverDelivers.opens > 3  # it kept reopening, within one deadline
    assert "delivered no frame for 0.6 s" in str(failure) and "u:p" not in str(failure)


def test_a_real_stream_that_goes_silent_fails_after_its_timeout():
    with SilentCamera(frames=3) as camera:
        src = open_source(camera.url("user:s3cret@"), timeout_s=1)
        assert src.description == f"stream http://***@127.0.0.1:{camera.port}/video"
        t0 = time.monotonic()
        frames, failure = _read_until_failure(src)
    assert 1 <= frames <= 3
    assert 0.9 < time.monotonic() - t0 < 6.0
    assert "delivered no frame for 1 s" in str(failure) and "s3cret" not in str(failure)


def test_a_real_stream_silent_from_the_start_does_not_open():
    with SilentCamera(frames=0) as camera:
        t0 = time.monotonic()
        with pytest.raises(UserError, match=r"cannot open stream http://\*\*\*@127\.0\.0\.1"):
            open_source(camera.url("u:secret@"), timeout_s=1)
        assert time.monotonic() - t0 < 5.0


def test_live_source_hands_out_only_the_newest_frame(clip):
    src = LiveSource(lambda: cv2.VideoCapture(str(clip.video)), "fast camera",
                     timeout_s=5.0, backoff=(0.01, 0.02))
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

    src = LiveSource(_FailingDriver, "usb camera", timeout_s=5)
    t0 = time.monotonic()
    frames, failure = _read_until_failure(src)
    assert 1 <= frames <= 3 and time.monotonic() - t0 < 5.0
    assert str(failure) == "usb camera failed: VIDIOC_DQBUF: No such device"
