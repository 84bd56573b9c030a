import math

import pytest
import torch

from moadepth_edge.config import BinsCfg
from moadepth_edge.model.bins import bin_centers, depth_from_unit, depth_to_bin_index


@pytest.mark.parametrize("spacing", ["log", "linear"])
def test_centres_span_range_and_index_back(spacing):
    cfg = BinsCfg(n_bins=16, min_depth=0.1, max_depth=10.0, spacing=spacing)
    c = bin_centers(cfg)
    assert c.shape == (16,)
    assert math.isclose(c[0].item(), 0.1, rel_tol=1e-5) and math.isclose(c[-1].item(), 10.0, rel_tol=1e-5)
    torch.testing.assert_close(depth_to_bin_index(c, cfg), torch.arange(16))
    # out-of-range depths go to the end bins
    assert depth_to_bin_index(torch.tensor([0.01, 50.0]), cfg).tolist() == [0, 15]


def test_log_spacing_has_constant_ratio():
    c = bin_centers(BinsCfg(n_bins=128))
    ratios = c[1:] / c[:-1]
    torch.testing.assert_close(ratios, torch.full_like(ratios, ratios[0].item()))


def test_nearest_in_log_space():
    cfg = BinsCfg(n_bins=3, min_depth=1.0, max_depth=100.0)  # centres 1, 10, 100
    # 4 m is nearer 1 m than 10 m linearly? no: |4-1|=3 < |10-4|=6, but in log space 10 wins
    assert depth_to_bin_index(torch.tensor([4.0, 2.0]), cfg).tolist() == [1, 0]


def test_regression_maps_unit_interval_onto_range():
    cfg = BinsCfg(min_depth=0.1, max_depth=10.0)
    d = depth_from_unit(torch.tensor([0.0, 0.5, 1.0]), cfg)
    torch.testing.assert_close(d, torch.tensor([0.1, 1.0, 10.0]))
