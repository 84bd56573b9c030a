"""Augmentations keep image, depth, mask and intrinsics consistent."""
from __future__ import annotations

import numpy as np
import pytest

from moadepth_edge.data.sample import Intrinsics, Sample, make_sample
from moadepth_edge.data.transforms import Augment, color_jitter, hflip, resize_sample, scale_crop


def _sample(h=8, w=10) -> Sample:
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:, :, 0] = np.arange(w)[None] * (250 // w)  # red encodes the column
    depth = np.tile(np.arange(1, w + 1, dtype=np.float32), (h, 1))  # depth encodes the column
    depth[0, 0] = 0.0
    return make_sample(rgb, depth, intrinsics=Intrinsics(100.0, 100.0, 4.0, 3.0))


def test_hflip_moves_everything_together():
    s = hflip(_sample())
    code = s.rgb[:, :, 0] // 25 + 1  # the original column + 1, as depth holds it
    np.testing.assert_array_equal(code[s.valid], s.depth[s.valid])
    assert not s.valid[0, -1] and s.valid.sum() == s.valid.size - 1 and s.intrinsics.cx == 6.0


def test_scale_crop_keeps_pixels_aligned():
    base = _sample(40, 50)
    s = scale_crop(base, 2.0, top=10, left=20, rescale_depth=False)
    col = s.rgb[5, :, 0].astype(float) / 5 + 1  # column index encoded by red
    np.testing.assert_allclose(s.depth[5], col, atol=1.0)  # nearest vs bilinear
    assert s.intrinsics.fx == 200.0 and s.intrinsics.cx == 4.0 * 2 - 20
    z = scale_crop(base, 2.0, top=10, left=20, rescale_depth=True)
    np.testing.assert_allclose(z.depth, s.depth / 2)
    assert z.intrinsics == base.intrinsics


def test_invalid_pixels_stay_invalid_after_scaling():
    base = _sample(40, 50)
    base.valid[:] = False
    base.valid[:, :25] = True
    base.depth[~base.valid] = 0.0
    s = scale_crop(base, 1.5, 0, 0)
    assert (s.depth[~s.valid] == 0).all() and s.valid[:, 0].all() and not s.valid[:, -1].any()


def test_color_jitter_identity_and_depth_untouched():
    s = _sample()
    np.testing.assert_array_equal(color_jitter(s.rgb, 1, 1, 1, 1), s.rgb)
    out = Augment(flip=0, max_scale=1.0)(s, np.random.default_rng(0))
    np.testing.assert_array_equal(out.depth, s.depth)
    assert not np.array_equal(out.rgb, s.rgb)


def test_augment_reproducible_from_generator():
    s = _sample(40, 50)
    a = Augment()(s, np.random.default_rng([1, 2, 3]))
    b = Augment()(s, np.random.default_rng([1, 2, 3]))
    np.testing.assert_array_equal(a.rgb, b.rgb)
    np.testing.assert_array_equal(a.depth, b.depth)


def test_resize_sample():
    s = resize_sample(_sample(8, 10), (4, 5))
    assert s.rgb.shape == (4, 5, 3) and s.depth.shape == (4, 5)
    assert s.intrinsics.fx == pytest.approx(50.0)
