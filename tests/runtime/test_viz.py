from __future__ import annotations

import numpy as np
import pytest

from moadepth_edge.errors import UserError
from moadepth_edge.runtime.viz import LEGEND_WIDTH, DepthColorizer, colorize, side_by_side


def test_near_is_warm_far_is_cold_and_invalid_is_black():
    depth = np.array([[1.0, 5.0, 0.0, np.nan]], np.float32)
    bgr = colorize(depth, 1.0, 5.0, "turbo")
    near, far = bgr[0, 0].astype(int), bgr[0, 1].astype(int)
    assert near[2] > near[0] and far[0] > far[2]  # red near, blue far
    assert (bgr[0, 2:] == 0).all()
    grey = colorize(depth, 1.0, 5.0, "gray")
    assert grey[0, 0].tolist() == [255, 255, 255] and grey[0, 1].tolist() == [0, 0, 0]


def test_fixed_range_clips_and_auto_range_follows_the_scene():
    depth = np.linspace(2.0, 4.0, 100, dtype=np.float32).reshape(10, 10)
    fixed = DepthColorizer("gray", (0.0, 10.0), legend=False)
    assert fixed.current_range(depth) == (0.0, 10.0)
    auto = DepthColorizer("gray", None, legend=False)
    lo, hi = auto.current_range(depth)
    assert 2.0 <= lo < 2.2 and 3.8 < hi <= 4.0


def test_legend_bar_is_appended():
    image = DepthColorizer("inferno")(np.ones((40, 30), np.float32))
    assert image.shape == (40, 30 + LEGEND_WIDTH, 3)


def test_bad_colormap_or_range_is_a_user_error():
    with pytest.raises(UserError, match="colormap"):
        DepthColorizer("jet")
    with pytest.raises(UserError, match="MIN:MAX"):
        DepthColorizer("turbo", (5.0, 1.0))


def test_side_by_side_matches_heights():
    frame = np.zeros((20, 30, 3), np.uint8)
    out = side_by_side(frame, np.zeros((10, 10, 3), np.uint8), ["12.0 FPS"])
    assert out.shape == (20, 50, 3)
