"""Losses: masked to valid pixels, the right values on constructed inputs, LossCfg weights."""
from __future__ import annotations

import math

import pytest
import torch

from moadepth_edge.config import BinsCfg, LossCfg
from moadepth_edge.model.bins import bin_centers
from moadepth_edge.model.depth_model import DepthOutput
from moadepth_edge.train.losses import (
    DepthLoss, bin_ce_loss, l1_loss, pool_to_grid, router_entropy, silog_loss,
)

BINS = BinsCfg(n_bins=16, min_depth=0.5, max_depth=10.0)


def _gt(b=2, h=8, w=8):
    depth = torch.rand(b, 1, h, w) * 8 + 1
    valid = torch.ones_like(depth, dtype=torch.bool)
    valid[:, :, :2] = False
    depth[~valid] = 0.0
    return depth, valid


def test_l1_ignores_invalid_pixels():
    depth, valid = _gt()
    pred = torch.where(valid, depth + 1.0, torch.full_like(depth, 1e3))
    assert float(l1_loss(pred, depth, valid)) == pytest.approx(1.0)


def test_l1_upsamples_a_grid_prediction():
    depth = torch.full((1, 1, 8, 8), 3.0)
    valid = torch.ones_like(depth, dtype=torch.bool)
    assert float(l1_loss(torch.full((1, 1, 2, 2), 2.0), depth, valid)) == pytest.approx(1.0)


def test_silog_value_and_scale_invariance():
    depth, valid = _gt()
    pred = torch.where(valid, 2 * depth, torch.rand_like(depth))
    expected = 10 * math.log(2) * math.sqrt(1 - 0.85)
    assert float(silog_loss(pred, depth, valid, 0.85)) == pytest.approx(expected, rel=1e-4)
    assert float(silog_loss(pred, depth, valid, 1.0)) < 0.011  # scale-invariant (up to the sqrt guard)


def test_pool_to_grid_is_geometric_mean_of_valid():
    depth = torch.tensor([[[[1.0, 4.0], [0.0, 0.0]]]])
    valid = depth > 0
    g, m = pool_to_grid(depth, valid, (1, 1))
    assert float(g) == pytest.approx(2.0) and bool(m)
    g, m = pool_to_grid(depth, valid, (2, 1))
    assert m[0, 0, :, 0].tolist() == [True, False]


def test_ce_low_for_the_right_bin_and_masked():
    depth = torch.full((1, 1, 4, 4), 3.0)
    valid = torch.ones_like(depth, dtype=torch.bool)
    right = int((bin_centers(BINS) - 3.0).abs().argmin())
    logits = torch.full((1, BINS.n_bins, 2, 2), -20.0)
    logits[:, right] = 20.0
    assert float(bin_ce_loss(logits, depth, valid, BINS)) < 1e-6
    wrong = logits.roll(3, dims=1)
    assert float(bin_ce_loss(wrong, depth, valid, BINS)) > 10
    valid[:, :, :2] = False  # the top grid row has no valid pixel: its cells do not count
    wrong[:, :, 1] = logits[:, :, 1]
    assert float(bin_ce_loss(wrong, depth, valid, BINS)) < 1e-6


def _output(depth):
    b, _, h, w = depth.shape
    grid = torch.nn.functional.adaptive_avg_pool2d(depth, (2, 2))
    return DepthOutput(depth=depth, grid_depth=grid, bin_logits=torch.zeros(b, BINS.n_bins, 2, 2),
                       bin_depth=grid, reg_depth=grid, gate=None, router_weights=[])


def test_weights_follow_losscfg():
    depth, valid = _gt()
    out = _output(depth * 1.5)
    full = DepthLoss(LossCfg(), BINS)(out, depth, valid)
    assert float(full.total) == pytest.approx(float(full.ce + full.l1 + 0.5 * full.silog), rel=1e-5)
    only_l1 = DepthLoss(LossCfg(ce=0, l1=1, silog=0), BINS)(out, depth, valid)
    assert float(only_l1.total) == pytest.approx(float(full.l1))


def test_losses_backpropagate_only_through_valid_pixels():
    depth, valid = _gt(1)
    pred = (depth + 0.5).requires_grad_(True)
    (l1_loss(pred, depth, valid) + silog_loss(pred, depth, valid)).backward()
    assert (pred.grad[~valid] == 0).all() and (pred.grad[valid] != 0).any()


def test_router_entropy():
    uniform = torch.full((2, 5, 4), 0.25)
    onehot = torch.zeros(2, 5, 4)
    onehot[..., 0] = 1
    assert float(router_entropy([uniform])) == pytest.approx(math.log(4))
    assert float(router_entropy([uniform, onehot])) == pytest.approx(math.log(4) / 2)
