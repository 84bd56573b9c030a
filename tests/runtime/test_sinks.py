from __future__ import annotations

import sys

import numpy as np
import pytest

from moadepth_edge.errors import UserError
from moadepth_edge.runtime.sinks import DepthSink, Result, VideoSink, display_available, read_depth_png


def _result(index: int, depth: np.ndarray) -> Result:
    h, w = depth.shape
    return Result(index, np.zeros((h, w, 3), np.uint8), depth)


def test_depth_png_round_trips_to_metres(tmp_path):
    rng = np.random.default_rng(0)
    depth = rng.uniform(0.1, 20.0, (24, 32)).astype(np.float32)
    depth[0, :4] = [0.0, np.nan, -1.0, 70.0]  # invalid, invalid, invalid, beyond 65.535 m
    sink = DepthSink(tmp_path, ["png", "npy"])
    sink.write(_result(42, depth))
    back = read_depth_png(tmp_path / "000042.png")
    assert back.dtype == np.float32 and back.shape == depth.shape
    np.testing.assert_allclose(back[1:], depth[1:], atol=0.0005 + 1e-6)  # half a millimetre
    assert back[0, :3].tolist() == [0.0, 0.0, 0.0] and back[0, 3] == pytest.approx(65.535)
    np.testing.assert_array_equal(np.load(tmp_path / "000042.npy"), depth)


def test_depth_sink_rejects_unknown_formats(tmp_path):
    with pytest.raises(UserError, match="depth formats"):
        DepthSink(tmp_path, ["exr"])


def test_video_sink_writes_every_frame_and_plays(tmp_path, video_frames):
    sink = VideoSink(tmp_path / "sub" / "out.mp4", fps=10)
    for i in range(7):
        result = _result(i, np.ones((31, 41), np.float32))
        result.canvas = np.full((31, 83, 3), 20 * i, np.uint8)  # odd sizes are evened
        sink.write(result)
    sink.close()
    frames = video_frames(tmp_path / "sub" / "out.mp4")
    assert len(frames) == 7 and frames[0].shape == (30, 82, 3)
    assert abs(int(frames[-1].mean()) - 120) <= 3


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="DISPLAY decides only on Linux")
def test_no_display_means_no_window(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert display_available() is False
