"""Local CLIP weights are loaded from .safetensors only (a pickle is refused unopened), and a
checkpoint config whose block indices do not fit its tower is refused naming the field."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from safetensors.torch import save_file

from moadepth_edge.config import InvalidConfig, get_preset
from moadepth_edge.errors import CheckpointError
from moadepth_edge.model import build_model
from moadepth_edge.model.checkpoint import check_tower, load_checkpoint, save_checkpoint
from moadepth_edge.model.clip_encoder import check_clip_weights, create_clip, tower_depth

TINY = get_preset("moadepth-tiny")


def _with_weights(path) -> object:
    return replace(TINY, clip=replace(TINY.clip, pretrained=str(path)))


def test_local_safetensors_weights_are_loaded(tmp_path):
    torch.manual_seed(5)
    clip, _ = create_clip(TINY, pretrained=False)
    path = tmp_path / "tiny-clip.safetensors"
    save_file({k: v.contiguous() for k, v in clip.state_dict().items()}, str(path))
    check_clip_weights(TINY.clip.model_name, str(path))
    loaded, _ = create_clip(_with_weights(path), pretrained=True)
    for k, v in clip.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k


@pytest.mark.parametrize("name,content,match", [
    ("w.pt", None, "this is a PyTorch pickle"),  # torch.save's zip
    ("w.bin", b"\x80\x04K\x01.", "this is a PyTorch pickle"),
    ("w.safetensors", b"\x80\x04K\x01.", "this is a PyTorch pickle"),
    ("w.npz", b"PK\x03\x04rest", "this is a PyTorch pickle"),
    ("w.pth", b"{}", "this is a .pth file"),
    ("w.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all", "not a valid safetensors file"),
])
def test_other_local_files_are_refused_before_loading(tmp_path, name, content, match):
    path = tmp_path / name
    if content is None:
        torch.save({"visual.conv1.weight": torch.zeros(1)}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=match) as info:
        build_model(_with_weights(path), pretrained=True)
    assert "\n" not in str(info.value)


def test_unknown_tag_and_folder(tmp_path):
    with pytest.raises(CheckpointError, match="neither a pretrained tag of ViT-B-32 .*openai"):
        check_clip_weights("ViT-B-32", "openia")
    with pytest.raises(CheckpointError, match="is not a file"):
        check_clip_weights("ViT-B-32", str(tmp_path))
    check_clip_weights("ViT-B-32", "openai")  # a known tag: open_clip fetches and loads it


def test_tower_depth():
    assert tower_depth("moadepth-tiny-vit") == 4 and tower_depth("ViT-B-32") == 12
    assert tower_depth("RN50") is None
    with pytest.raises(CheckpointError, match="unknown CLIP architecture"):
        tower_depth("ViT-Q-99")


@pytest.mark.parametrize("change,field,match", [
    (dict(moa=replace(TINY.moa, layers=(1, 99))), "model_cfg.moa.layers", r"blocks \[99\] do not exist in the 4-block"),
    (dict(moa=replace(TINY.moa, layers=(4,))), "model_cfg.moa.layers", r"0\.\.3"),
    (dict(trainable_blocks=5), "model_cfg.trainable_blocks", "more than the 4 blocks"),
    (dict(clip=replace(TINY.clip, model_name="RN50")), "model_cfg.clip.model_name", "needs a ViT tower"),
    (dict(clip=replace(TINY.clip, model_name="ViT-Q-99")), "model_cfg.clip.model_name", "unknown CLIP architecture"),
])
def test_configs_that_do_not_fit_the_tower(change, field, match):
    with pytest.raises(InvalidConfig, match=match) as info:
        check_tower(replace(TINY, **change), "ck/config.json")
    assert info.value.field == field and str(info.value).startswith(f"ck/config.json: {field}: ")


def test_vitb32_layers_fit_and_checkpoint_load_checks_them(tiny_model, tmp_path):
    check_tower(get_preset("moadepth-vitb32"), "x")
    folder = save_checkpoint(tiny_model, tmp_path / "ck")
    meta = json.loads((folder / "config.json").read_text())
    meta["model_cfg"]["moa"]["layers"] = [1, 11]  # fine for ViT-B/32, not for the 4-block tiny tower
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(InvalidConfig, match=r"config.json: model_cfg.moa.layers: blocks \[11\]"):
        load_checkpoint(folder)
