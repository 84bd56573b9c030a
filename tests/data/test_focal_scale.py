"""Synthetic scenes at any focal length: render_sample / write_clip / SyntheticReader / the
`synthetic:N:focal=...` spec render with the training focal length times S and report the
intrinsics they used."""
from __future__ import annotations

import json

import numpy as np
import pytest

from moadepth_edge.data.spec import open_reader
from moadepth_edge.data.synthetic import (
    SyntheticReader, camera_intrinsics, frame_focal_scale, render_sample, write_clip,
)
from moadepth_edge.errors import UserError

SIZE = (48, 64)


def test_render_sample_uses_and_reports_the_scaled_focal_length():
    base, tele = render_sample(9, SIZE), render_sample(9, SIZE, focal_scale=2.0)
    assert tele.intrinsics.fx == pytest.approx(2 * base.intrinsics.fx)
    assert tele.intrinsics.fy == pytest.approx(2 * base.intrinsics.fy)
    assert (tele.intrinsics.cx, tele.intrinsics.cy) == (base.intrinsics.cx, base.intrinsics.cy)
    # twice the focal length sees the middle half of the same view: the centre pixel's depth is
    # the same, and the tele frame's depth equals the base frame's centre, magnified 2x
    h, w = SIZE
    assert tele.depth[h // 2, w // 2] == pytest.approx(base.depth[h // 2, w // 2], rel=0.02)
    centre = base.depth[h // 4: 3 * h // 4, w // 4: 3 * w // 4]
    shrunk = tele.depth.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    assert np.median(np.abs(shrunk - centre) / centre) < 0.02
    assert np.median(np.abs(tele.depth[::2, ::2] - base.depth[::2, ::2]) / base.depth[::2, ::2]) > 0.02


def test_scale_one_is_the_training_camera():
    np.testing.assert_array_equal(render_sample(4, SIZE, focal_scale=1.0).rgb, render_sample(4, SIZE).rgb)
    assert camera_intrinsics((480, 640), 1.0).fx == pytest.approx(518.8579)


def test_write_clip_writes_the_intrinsics_it_used(tmp_path):
    clip = write_clip(tmp_path / "wide", n_frames=2, size=SIZE, seed=3, save_npy=True, focal_scale=0.6)
    meta = json.loads(clip.intrinsics_file.read_text())
    assert meta["fx"] == pytest.approx(518.8579 * 64 / 640 * 0.6) and meta["focal_scale"] == 0.6
    assert meta["fx"] == pytest.approx(clip.intrinsics.fx) and meta["cx"] == pytest.approx(clip.intrinsics.cx)
    normal = write_clip(tmp_path / "normal", n_frames=2, size=SIZE, seed=3, save_npy=True)
    wide, plain = np.load(clip.depth_files[1].with_suffix(".npy")), np.load(normal.depth_files[1].with_suffix(".npy"))
    assert not np.allclose(wide, plain)


def test_reader_draws_a_scale_per_frame_from_a_range():
    reader = SyntheticReader(12, size=(12, 16), focal_scale=(0.7, 1.4))
    base = camera_intrinsics((12, 16)).fx
    scales = [reader[i].intrinsics.fx / base for i in range(len(reader))]
    assert all(0.7 <= s <= 1.4 for s in scales) and np.ptp(scales) > 0.2
    assert reader[5].intrinsics.fx == reader[5].intrinsics.fx  # the same draw every epoch
    assert scales[5] == pytest.approx(frame_focal_scale(5, (0.7, 1.4)))
    fixed = SyntheticReader(2, size=(12, 16), focal_scale=1.3)
    assert fixed[1].intrinsics.fx == pytest.approx(1.3 * base)


def test_spec_option_sets_the_focal_scale():
    reader = open_reader("synthetic:4:focal=0.8-1.25", "train", synthetic_size=(12, 16))
    assert reader.focal_scale == (0.8, 1.25)
    assert open_reader("synthetic:4:focal=1.5", "test").focal_scale == (1.5, 1.5)
    assert open_reader("synthetic:4", "test").focal_scale == (1.0, 1.0)


@pytest.mark.parametrize("spec, message", [
    ("synthetic:4:focal=wide", "focal= needs a scale"),
    ("synthetic:4:focal=0", "positive"),
    ("synthetic:4:focal=-1", "focal= needs a scale"),
    ("synthetic:4:focal=1.4-0.7", "low to high"),
    ("synthetic:4:focal=1:focal=2", "repeated"),
    ("synthetic:4:zoom=2", "unknown or repeated"),
    ("synthetic:4:wide", "unknown or repeated"),
])
def test_spec_mistakes_are_user_errors(spec, message):
    with pytest.raises(UserError, match=message):
        open_reader(spec, "train")


def test_non_positive_scale_is_refused_before_rendering(tmp_path):
    with pytest.raises(UserError, match="positive"):
        write_clip(tmp_path / "clip", n_frames=2, size=SIZE, focal_scale=float("nan"))
    assert not (tmp_path / "clip").exists()
