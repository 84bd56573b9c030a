"""Each export fold computes the trained model's function to float32 rounding (rel. err < 1e-5)."""
from __future__ import annotations

import copy

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from moadepth_edge.export.fuse import (FrameInput, FusedMoA, fold_context, fold_input_transform,
                                       fuse_model)
from moadepth_edge.export import relative_error

TOL = 1e-5


@pytest.fixture(scope="module")
def images():
    return torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(1))


def _err(a, b) -> float:
    return relative_error(a.detach().numpy(), b.detach().numpy())


@torch.no_grad()
def test_fused_moa_matches_the_experts(tiny_model):
    moa = tiny_model.moa["1"]
    fused = FusedMoA(moa)
    x = torch.randn(2, 5, 64, generator=torch.Generator().manual_seed(2))
    (out, g), (ref, ref_g) = fused.forward_with_weights(x), moa.forward_with_weights(x)
    assert _err(out - x, ref - x) < TOL  # the adapters' contribution, not just the residual
    assert torch.equal(g, ref_g)
    assert fused.fc1.out_features == 4 * 8 and fused.fc2.in_features == 4 * 8 + 4


@torch.no_grad()
def test_each_fold_alone_keeps_the_depth(tiny_model, images):
    ref = tiny_model.forward_train(images)
    for fold in ({"moa": True, "context": False, "normalization": False},
                 {"moa": False, "context": True, "normalization": False},
                 {"moa": False, "context": False, "normalization": True}):
        out = fuse_model(tiny_model, **fold).forward_train(images)
        assert _err(out.grid_depth, ref.grid_depth) < TOL, fold
        assert _err(out.bin_logits, ref.bin_logits) < TOL, fold  # pre-softmax: sensitive


@torch.no_grad()
def test_context_fold_removes_the_concatenation(tiny_model, images):
    model = fold_context(copy.deepcopy(tiny_model))
    assert not model.use_context and model.head.proj.in_features == tiny_model.encoder.out_dim
    assert _err(model(images), tiny_model(images)) < TOL


@torch.no_grad()
def test_normalisation_fold_gives_the_patch_conv_a_bias(tiny_model, images):
    enc = fold_input_transform(copy.deepcopy(tiny_model.encoder))
    assert not enc.normalize and enc.visual.conv1.bias is not None
    ref_tokens, _ = tiny_model.encoder.embed(images)
    tokens, _ = enc.embed(images)
    assert _err(tokens, ref_tokens) < TOL
    with pytest.raises(ValueError, match="already folded"):
        fold_input_transform(enc)


@torch.no_grad()
def test_whole_fused_model_and_the_original_is_untouched(tiny_model, images):
    before = tiny_model(images)
    fused = fuse_model(tiny_model)
    assert _err(fused(images), before) < TOL
    assert tiny_model.use_context and tiny_model.encoder.normalize
    assert torch.equal(tiny_model(images), before)


@torch.no_grad()
def test_frame_input_folds_resize_colour_and_scale(tiny_model):
    """uint8 BGR frame of any size -> depth at that size, as cv2 resize + RGB + 1/255 would give."""
    rng = np.random.default_rng(3)
    frames = rng.integers(0, 256, (2, 75, 101, 3), dtype=np.uint8)
    folded = FrameInput(fuse_model(tiny_model, frame_input=True), folded=True).eval()
    depth = folded(torch.from_numpy(frames))
    assert depth.shape == (2, 1, 75, 101)
    # reference: the runtime's recipe in float (cv2 INTER_LINEAR on float32 is exact bilinear)
    h, w = tiny_model.cfg.preprocess.size
    rgb = [cv2.resize(f.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)[..., ::-1] / 255.0
           for f in frames]
    x = torch.from_numpy(np.stack(rgb).transpose(0, 3, 1, 2).astype(np.float32))
    grid = tiny_model.forward_train(x).grid_depth
    ref = torch.nn.functional.interpolate(grid, size=(75, 101), mode="bilinear", align_corners=False)
    assert _err(depth, ref) < TOL
    unfolded = FrameInput(tiny_model, folded=False)(torch.from_numpy(frames))
    assert _err(depth, unfolded) < TOL
