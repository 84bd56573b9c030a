"""Metrics against hand-computed values; crops, clamping and median scaling."""
from __future__ import annotations

import math

import numpy as np
import pytest

from moadepth_edge.errors import UserError
from moadepth_edge.train.metrics import (
    MetricAverager, Protocol, compute_errors, crop_mask, evaluate_depth, get_protocol,
)

NONE = Protocol("test", crop="none")


def test_compute_errors_by_hand():
    gt = np.array([1.0, 2.0, 4.0, 8.0])
    pred = np.array([1.0, 2.2, 3.0, 16.0])  # ratios 1, 1.1, 1.33, 2
    m = compute_errors(gt, pred)
    assert m["delta1"] == 0.5 and m["delta2"] == 0.75 and m["delta3"] == 0.75
    assert m["abs_rel"] == pytest.approx((0 + 0.1 + 0.25 + 1.0) / 4)
    assert m["sq_rel"] == pytest.approx((0 + 0.04 / 2 + 1 / 4 + 64 / 8) / 4)
    assert m["rmse"] == pytest.approx(math.sqrt((0 + 0.04 + 1 + 64) / 4))
    logs = [0, math.log(1.1), math.log(3 / 4), math.log(2)]
    assert m["rmse_log"] == pytest.approx(math.sqrt(sum(x * x for x in logs) / 4))
    assert m["log10"] == pytest.approx(sum(abs(x) for x in logs) / math.log(10) / 4)
    mean = sum(logs) / 4
    assert m["silog"] == pytest.approx(100 * math.sqrt(sum(x * x for x in logs) / 4 - mean ** 2))


def test_perfect_prediction():
    gt = np.linspace(0.5, 9, 20)
    m = compute_errors(gt, gt.copy())
    assert m["delta1"] == 1 and m["abs_rel"] == 0 and m["rmse"] == 0 and m["silog"] == 0


def test_eigen_crop_on_nyu_frames():
    mask = crop_mask((480, 640), "eigen")
    assert mask.sum() == 426 * 560
    assert mask[45, 41] and mask[470, 600] and not mask[44, 41] and not mask[45, 40]
    assert not mask[471, 100] and not mask[100, 601]
    assert crop_mask((240, 320), "eigen").sum() == 213 * 280  # scales with the frame


def test_garg_crop():
    mask = crop_mask((480, 640), "garg")
    rows, cols = np.where(mask)
    assert (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) == (195, 476, 23, 616)
    mask = crop_mask((375, 1242), "garg")  # KITTI's frame, where it comes from
    rows, cols = np.where(mask)
    assert (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) == (153, 371, 44, 1197)


def test_standard_protocol_masks_clamps_and_crops():
    gt = np.full((480, 640), 2.0)
    gt[:45] = 50.0  # outside the crop and beyond 10 m: ignored twice over
    gt[100:110] = 0.0  # no measurement
    pred = np.full((480, 640), 2.0)
    pred[200:210] = 100.0  # clamped to 10 m
    m = evaluate_depth(pred, gt, get_protocol("standard"))
    inside = crop_mask((480, 640), "eigen") & (gt > 0) & (gt < 10)
    wrong = inside[200:210].sum()
    assert m["delta1"] == pytest.approx(1 - wrong / inside.sum())
    assert m["rmse"] == pytest.approx(math.sqrt(wrong * 64 / inside.sum()))  # (10 - 2)^2


def test_paper_protocol_median_scaling():
    rng = np.random.default_rng(0)
    gt = rng.uniform(1, 5, (48, 64))
    standard = evaluate_depth(2 * gt, gt, Protocol("s", crop="none"))
    paper = evaluate_depth(2 * gt, gt, get_protocol("paper"))
    assert standard["delta1"] == 0 and standard["abs_rel"] == pytest.approx(1.0)
    assert paper["delta1"] == 1 and paper["abs_rel"] == pytest.approx(0, abs=1e-12)


def test_valid_mask_and_empty_images():
    gt = np.full((4, 4), 3.0)
    pred = np.full((4, 4), 3.0)
    pred[0] = 6.0
    valid = np.ones((4, 4), bool)
    valid[0] = False
    assert evaluate_depth(pred, gt, NONE, valid)["delta1"] == 1
    assert evaluate_depth(pred, np.zeros((4, 4)), NONE) is None
    with pytest.raises(UserError, match="differ"):
        evaluate_depth(pred, gt[:2], NONE)


def test_average_is_per_image():
    avg = MetricAverager()
    big = np.full((10, 10), 2.0)
    avg.update(evaluate_depth(big, big, NONE))  # 100 perfect pixels
    avg.update(evaluate_depth(np.full((1, 1), 4.0), np.full((1, 1), 2.0), NONE))  # 1 bad pixel
    avg.update(None)
    assert avg.count == 2 and avg.result()["delta1"] == 0.5


def test_protocol_overrides_and_unknown_names():
    kitti = get_protocol("standard", max_depth=80.0, crop="garg")
    assert (kitti.max_depth, kitti.crop, kitti.median_scaling) == (80.0, "garg", False)
    with pytest.raises(UserError, match="standard"):
        get_protocol("eigen")
    with pytest.raises(UserError, match="crop"):
        get_protocol("standard", crop="centre")
