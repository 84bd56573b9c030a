"""Checkpoint folders round-trip bit-exactly and fail with one clear line when damaged."""
from __future__ import annotations

import json

import pytest
import torch

from moadepth_edge.config import get_preset
from moadepth_edge.errors import CheckpointError
from moadepth_edge.model import build_model
from moadepth_edge.model.checkpoint import (
    checkpoint_sha256, load_checkpoint, read_checkpoint_config, save_checkpoint,
)


@pytest.fixture()
def saved(tiny_model, tmp_path):
    return save_checkpoint(tiny_model, tmp_path / "ckpt", extra={"note": "test"})


def test_round_trip_is_bit_exact(tiny_model, saved):
    loaded = load_checkpoint(saved)
    assert loaded.cfg == tiny_model.cfg
    a, b = tiny_model.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    image = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(tiny_model(image), loaded(image))
    meta = json.loads((saved / "config.json").read_text())
    assert meta["extra"] == {"note": "test"} and len(meta["bins"]["centers"]) == 32
    assert read_checkpoint_config(saved) == tiny_model.cfg


def test_save_overwrites_atomically_and_hash_changes(tiny_model, saved):
    before = checkpoint_sha256(saved)
    with torch.no_grad():
        tiny_model.head.regress.bias.add_(1.0)
    try:
        save_checkpoint(tiny_model, saved)
    finally:
        with torch.no_grad():
            tiny_model.head.regress.bias.sub_(1.0)
    assert checkpoint_sha256(saved) != before
    assert sorted(p.name for p in saved.parent.iterdir()) == ["ckpt"]  # no temp folders left


def test_temp_folder_of_a_killed_save_is_cleared_by_the_next(tiny_model, saved):
    stale = saved.parent / ".ckpt.tmp-abc123"
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"half")
    save_checkpoint(tiny_model, saved)
    assert sorted(p.name for p in saved.parent.iterdir()) == ["ckpt"]


def test_garbled_weights_give_one_line_error(saved):
    data = bytearray((saved / "model.safetensors").read_bytes())
    data[:16] = b"\xff" * 16
    (saved / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt checkpoint weights") as exc:
        load_checkpoint(saved)
    assert "\n" not in str(exc.value)


def test_truncated_weights_give_one_line_error(saved):
    path = saved / "model.safetensors"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="corrupt checkpoint weights"):
        load_checkpoint(saved)


def test_garbled_config_and_missing_files(saved, tmp_path):
    (saved / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt checkpoint config"):
        load_checkpoint(saved)
    (saved / "config.json").unlink()
    with pytest.raises(CheckpointError, match="no config.json"):
        load_checkpoint(saved)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nowhere")


def test_weights_of_another_architecture_are_refused(tiny_model, tmp_path):
    folder = save_checkpoint(tiny_model, tmp_path / "a")
    cfg = json.loads((folder / "config.json").read_text())
    cfg["model_cfg"]["moa"]["bottleneck"] = 12  # config says one shape, weights hold another
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="do not match its config"):
        load_checkpoint(folder)


def test_clip_weights_file_that_does_not_match_architecture(tmp_path):
    from dataclasses import replace as dc_replace
    from safetensors.torch import save_file
    wrong = tmp_path / "wrong.safetensors"
    save_file({"visual.conv1.weight": torch.zeros(3, 3)}, str(wrong))
    cfg = get_preset("moadepth-tiny")
    cfg = dc_replace(cfg, clip=dc_replace(cfg.clip, pretrained=str(wrong)))
    with pytest.raises(CheckpointError, match="do not match moadepth-tiny-vit"):
        build_model(cfg, pretrained=True)


def test_failed_save_is_write_failed_and_keeps_the_old_checkpoint(tiny_model, saved, tmp_path):
    from moadepth_edge.errors import WriteFailed

    (tmp_path / "file").write_text("x")
    with pytest.raises(WriteFailed, match="cannot write .*file/ck"):
        save_checkpoint(tiny_model, tmp_path / "file" / "ck")
    before = checkpoint_sha256(saved)

    def fail(tmp):
        raise OSError(28, "No space left on device")

    with pytest.raises(WriteFailed, match="No space left on device"):
        save_checkpoint(tiny_model, saved, add_files=fail)
    assert checkpoint_sha256(saved) == before
    assert sorted(p.name for p in saved.parent.iterdir()) == ["ckpt", "file"]


def test_checkpoint_has_plain_permissions(saved):
    import os
    import stat

    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o777 & ~mask
    for p in saved.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~mask, p.name
