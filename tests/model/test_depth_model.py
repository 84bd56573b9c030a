"""MoA-DepthCLIP on the tiny preset: shapes, freezing, routing, context, encoder fidelity."""
from __future__ import annotations

import copy

import pytest
import torch

from moadepth_edge.config import get_preset, replace, HeadCfg
from moadepth_edge.model import build_model
from moadepth_edge.model.clip_encoder import create_clip


@pytest.mark.parametrize("size", [(64, 64), (224, 224), (96, 160)])
def test_forward_shape_and_range(tiny_model, size):
    image = torch.rand(2, 3, *size)
    with torch.no_grad():
        depth = tiny_model(image)
    assert depth.shape == (2, 1, *size)
    assert torch.isfinite(depth).all()
    bins = tiny_model.cfg.bins
    assert depth.min() >= bins.min_depth - 1e-4 and depth.max() <= bins.max_depth + 1e-4


def test_forward_train_aux_outputs(tiny_model):
    out = tiny_model.forward_train(torch.rand(2, 3, 64, 64))
    cfg = tiny_model.cfg
    h = w = 64 // 32
    assert out.depth.shape == (2, 1, 64, 64)
    assert out.bin_logits.shape == (2, cfg.bins.n_bins, h, w)
    for t in (out.grid_depth, out.bin_depth, out.reg_depth, out.gate):
        assert t.shape == (2, 1, h, w)
    assert len(out.router_weights) == len(cfg.moa.layers)
    # forward() is forward_train().depth, without the extras
    with torch.no_grad():
        torch.testing.assert_close(tiny_model(torch.ones(1, 3, 64, 64)),
                                   tiny_model.forward_train(torch.ones(1, 3, 64, 64)).depth)


def test_router_weights_sum_to_one_per_token(tiny_model):
    out = tiny_model.forward_train(torch.rand(3, 3, 64, 64))
    for g in out.router_weights:
        assert g.shape == (3, 1 + 4, tiny_model.cfg.moa.num_experts)  # class token + 2x2 patches
        torch.testing.assert_close(g.sum(-1), torch.ones(g.shape[:-1]))
        assert (g > 0).all()  # soft routing: every expert contributes


def test_gradients_reach_trainable_and_only_trainable(tiny_model):
    model = copy.deepcopy(tiny_model).train()  # the shared model stays as it is
    model.zero_grad(set_to_none=True)
    out = model.forward_train(torch.rand(2, 3, 64, 64))
    loss = out.depth.mean() + out.bin_logits.square().mean()
    loss.backward()
    n_blocks = len(model.encoder.blocks)
    trainable_blocks = {f"encoder.visual.transformer.resblocks.{i}."
                        for i in range(n_blocks - model.cfg.trainable_blocks, n_blocks)}
    for name, p in model.named_parameters():
        should_train = name.startswith(("moa.", "head.")) or name.startswith(tuple(trainable_blocks))
        assert p.requires_grad == should_train, name
        if should_train:
            assert p.grad is not None and p.grad.abs().sum() > 0, f"no gradient reaches {name}"
        else:
            assert p.grad is None, f"frozen {name} got a gradient"
    model.eval()


def test_mean_fusion_averages_bin_and_regression(tiny_model):
    torch.manual_seed(1)
    cfg = replace(get_preset("moadepth-tiny"), head=HeadCfg(hidden=32, fusion="mean"))
    model = build_model(cfg)
    out = model.forward_train(torch.rand(1, 3, 64, 64))
    assert out.gate is None
    torch.testing.assert_close(out.grid_depth, 0.5 * (out.bin_depth + out.reg_depth))


def test_context_vector_is_the_mean_of_normalised_prompt_embeddings():
    cfg = get_preset("moadepth-tiny")
    torch.manual_seed(123)
    model = build_model(cfg)
    torch.manual_seed(123)  # the same random text tower again
    clip, tokenizer = create_clip(cfg, pretrained=False)
    prompts = [f"a photo of a {s}" for s in cfg.context.scenes]
    with torch.no_grad():
        emb = clip.encode_text(tokenizer(prompts))
    expected = (emb / emb.norm(dim=-1, keepdim=True)).mean(0)
    assert model.context.shape == (clip.text_projection.shape[1],)
    torch.testing.assert_close(model.context, expected)


def test_encoder_reproduces_open_clip_tokens_at_native_size(tiny_model):
    """Our per-block iteration is open_clip's own visual forward (tokens after ln_post)."""
    visual = tiny_model.encoder.visual
    image = torch.rand(2, 3, 64, 64)
    norm = (image - tiny_model.encoder.mean) / tiny_model.encoder.std
    visual.output_tokens = True
    try:
        with torch.no_grad():
            _, tokens = visual(norm)
            ours = tiny_model.encoder(image)
    finally:
        visual.output_tokens = False
    torch.testing.assert_close(ours, tokens @ visual.proj)


def test_positional_embedding_interpolates_for_other_sizes(tiny_model):
    pos = tiny_model.encoder.pos_embed((3, 5))
    assert pos.shape == (1 + 15, tiny_model.encoder.width)
    assert tiny_model.encoder.pos_embed((2, 2)) is tiny_model.encoder.visual.positional_embedding


def test_moa_layers_out_of_range_rejected():
    from moadepth_edge.config import MoACfg
    cfg = replace(get_preset("moadepth-tiny"), moa=MoACfg(layers=(1, 7)))
    with pytest.raises(ValueError, match="out of range"):
        build_model(cfg)


def test_forward_grid_is_the_token_grid_depth_before_upsampling(tiny_model):
    from moadepth_edge.model.heads import upsample_depth

    image = torch.rand(1, 3, 96, 128)
    with torch.no_grad():
        grid = tiny_model.forward_grid(image)
        assert grid.shape == (1, 1, 3, 4)
        torch.testing.assert_close(grid, tiny_model.forward_train(image).grid_depth)
        torch.testing.assert_close(tiny_model(image), upsample_depth(grid, (96, 128)))


def test_a_tower_trained_from_scratch_knows_where_each_token_is():
    """Random-init towers get 2-D sine-cosine positions: on a featureless image the tokens
    still differ by position, so a model can learn that the floor is at the bottom."""
    from moadepth_edge.model.clip_encoder import sincos_positions

    model = build_model(get_preset("moadepth-tiny-224")).eval()
    pos = model.encoder.visual.positional_embedding
    assert torch.allclose(pos, sincos_positions((7, 7), pos.shape[1]))
    assert torch.equal(pos[0], torch.zeros_like(pos[0]))  # the class token
    with torch.no_grad():
        tokens, _ = model._tokens(torch.full((1, 3, 224, 224), 0.5), None)
    spread = tokens[0].std(dim=0).mean() / tokens[0].abs().mean()
    assert spread > 0.2
