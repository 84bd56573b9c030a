"""Zero-shot DepthCLIP: the similarity -> depth rule, and the baseline model's contract."""
import math

import torch

from moadepth_edge.config import get_preset
from moadepth_edge.model import build_model
from moadepth_edge.model.depthclip import depth_from_similarity


def test_depth_from_fixed_similarity_matches_hand_computation():
    depths = torch.tensor([1.00, 1.50, 2.00, 2.25, 2.50, 2.75, 3.00])
    cos = torch.tensor([0.20, 0.21, 0.25, 0.22, 0.20, 0.19, 0.18])  # cosine similarities
    sim = (100.0 * cos).view(1, 7, 1, 1)
    # by hand: softmax(100 * cos / 0.1) = softmax(1000 * cos)
    logits = [1000.0 * c for c in cos.tolist()]
    m = max(logits)
    w = [math.exp(l - m) for l in logits]
    expected = sum(wi * di for wi, di in zip(w, depths.tolist())) / sum(w)
    got = depth_from_similarity(sim, depths, temperature=0.1)
    assert got.shape == (1, 1, 1, 1)
    assert math.isclose(got.item(), expected, rel_tol=1e-6)
    # a map where one word dominates gives that word's depth
    sim2 = torch.full((1, 7, 2, 2), 20.0)
    sim2[:, 3] = 30.0
    torch.testing.assert_close(depth_from_similarity(sim2, depths, 0.1), torch.full((1, 1, 2, 2), 2.25))


def test_depthclip_baseline_contract():
    torch.manual_seed(0)
    model = build_model(get_preset("depthclip-tiny"))
    with torch.no_grad():
        depth = model(torch.rand(2, 3, 64, 64))
    assert depth.shape == (2, 1, 64, 64)
    assert depth.min() >= 1.0 - 1e-5 and depth.max() <= 3.0 + 1e-5
    assert model.text_features.shape[0] == 7
    assert not model.trainable_parameters()
