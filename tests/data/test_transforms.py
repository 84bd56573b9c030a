"""Augmentations keep image, depth, mask and intrinsics consistent."""
from __future__ import annotations

import numpy as np
import pytest

from moadepth_edge.data.sample import Intrinsics, Sample, make_sample
from moadepth_edge.data.transforms import (
    INPUT_PHOTOMETRY, Augment, color_jitter, hflip, input_photometry, resize_sample, scale_crop, texture_field,
    training_augment,
)


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


def _fine_detail(rgb: np.ndarray) -> float:
    import cv2

    return float(np.abs(cv2.Laplacian(rgb.mean(axis=2).astype(np.float32), cv2.CV_32F)).mean())


def test_input_photometry_gives_a_smooth_render_fine_detail_and_contrast():
    yy, xx = np.mgrid[0:64, 0:64]
    smooth = np.repeat((80 + xx + yy // 2).astype(np.uint8)[..., None], 3, axis=2)  # a gentle ramp
    out = input_photometry(smooth, np.random.default_rng(0), texture=0.3, stretch=2.0, grain=0.03)
    assert out.shape == smooth.shape and out.dtype == np.uint8
    assert _fine_detail(out) > 5 * _fine_detail(smooth)
    field = texture_field((64, 64), np.random.default_rng(1))
    assert field.shape == (64, 64) and abs(float(field.std()) - 1.0) < 1e-3


def test_augment_input_alone_leaves_geometry_and_depth_alone():
    s = _sample(40, 50)
    assert training_augment(False, False) is None
    aug = training_augment(False, True)
    assert {k: getattr(aug, k) for k in INPUT_PHOTOMETRY} == INPUT_PHOTOMETRY
    moved = aug(s, np.random.default_rng(3))
    np.testing.assert_array_equal(moved.rgb, s.rgb)  # no flip, zoom or jitter before the resize
    np.testing.assert_array_equal(moved.depth, s.depth)
    a = aug.at_input(s.rgb, np.random.default_rng([1, 2]))
    assert not np.array_equal(a, s.rgb)
    np.testing.assert_array_equal(a, aug.at_input(s.rgb, np.random.default_rng([1, 2])))
    assert Augment().at_input(s.rgb, np.random.default_rng(0)) is s.rgb  # off unless asked


def test_erase_blanks_the_whole_image_or_one_rectangle_and_nothing_else():
    from moadepth_edge.data.transforms import erase

    rgb = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    whole = erase(rgb, np.random.default_rng(1), blank=1.0, patch=0.0)
    assert len(np.unique(whole)) == 1
    part = erase(rgb, np.random.default_rng(1), blank=0.0, patch=1.0)
    changed = np.any(part != rgb, axis=2)
    rows, cols = np.nonzero(changed)
    assert 0.05 * 40 * 60 < changed.sum() <= 0.5 * 40 * 60 + 60  # one rectangle of 10-50% of the area
    assert changed[rows.min():rows.max() + 1, cols.min():cols.max() + 1].mean() > 0.9  # a rectangle
    assert erase(rgb, np.random.default_rng(1), blank=0.0, patch=0.0) is rgb
