"""A video replayed as a live camera: real-time pacing, newest frame kept, honest timestamps."""
from __future__ import annotations

import math
import time

import numpy as np
import pytest

from moadepth_edge.errors import UserError
from moadepth_edge.runtime.paced import PacedSource


def test_frames_arrive_on_the_replay_clock_stamped_with_their_due_time(clip):
    fps = 50.0
    with PacedSource(clip.video, fps) as source:
        assert source.live and source.fps == fps and "paced at 50 FPS" in source.description
        t0 = time.perf_counter()
        frames = [source.read() for _ in range(15)]
        elapsed = time.perf_counter() - t0
        lags = source.lag_ms()
    first = frames[0]
    for frame in frames[1:]:
        # a due time is start + index / fps: spacing is exact, whatever the machine's load
        assert frame.timestamp - first.timestamp == pytest.approx((frame.index - first.index) / fps, abs=1e-9)
        assert frame.timestamp <= time.perf_counter()
    assert [f.index for f in frames] == sorted({f.index for f in frames})  # strictly newer each time
    assert elapsed >= (frames[-1].index - first.index) / fps - 0.005  # real time, not as fast as decoding
    assert lags and min(lags) >= 0  # delivered at or after the due time, never before


def test_a_busy_reader_gets_only_the_newest_frame_and_the_rest_count_as_dropped(clip):
    with PacedSource(clip.video, 100.0) as source:
        indices = []
        for _ in range(4):
            indices.append(source.read().index)
            time.sleep(0.1)  # ten frame intervals
        dropped = source.dropped
    gaps = np.diff(indices)
    assert gaps.min() >= 5  # about ten frames came meanwhile; only the newest is handed over
    assert dropped == int((gaps - 1).sum()) + indices[0]


def test_the_clip_loops_like_a_camera_that_never_ends(clip, video_frames):
    decoded = video_frames(clip.video)
    with PacedSource(clip.video, 100.0) as source:
        frames = []
        while not frames or frames[-1].index < 2 * clip.n_frames:
            frames.append(source.read())
    assert source.read() is None  # closed
    for frame in frames:  # past the clip's end: its frames again, decoded as a reader would
        assert any(np.array_equal(frame.image, d) for d in decoded)
    assert len({f.image.tobytes() for f in frames}) > 1


def test_closing_ends_the_reads(clip):
    source = PacedSource(clip.video, 30.0)
    assert source.read() is not None
    source.close()
    assert source.read() is None
    source.close()  # twice is harmless


@pytest.mark.parametrize("fps", [0, -5, math.nan, math.inf, True, "30"])
def test_a_bad_frame_rate_is_a_user_error(clip, fps):
    with pytest.raises(UserError, match="positive frame rate"):
        PacedSource(clip.video, fps)


def test_missing_and_undecodable_files_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="video not found"):
        PacedSource(tmp_path / "none.mp4", 30)
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    with pytest.raises(UserError, match="cannot replay"):
        PacedSource(text, 30)
    with pytest.raises(UserError, match="not a video file"):
        PacedSource(tmp_path, 30)  # a folder
