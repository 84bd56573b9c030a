"""`moadepth-edge info`: parameter counts of presets and checkpoints; one-line errors."""
from __future__ import annotations

import json

import torch

from moadepth_edge.cli.main import main
from moadepth_edge.config import get_preset
from moadepth_edge.model import build_model
from moadepth_edge.model.checkpoint import save_checkpoint


def test_info_vitb32_counts(capsys):
    assert main(["info", "moadepth-vitb32"]) == 0
    out = capsys.readouterr().out
    assert "87,849,216" in out  # the OpenCLIP ViT-B/32 visual tower
    assert "28,351,488" in out  # its last 4 blocks, the trainable part of it
    assert out.count("495,492") >= 4  # four MoA modules, ~0.5M each
    assert "90,126,994" in out and "30,629,266" in out  # all / trainable


def test_info_checkpoint_and_json(tmp_path, capsys):
    torch.manual_seed(0)
    folder = save_checkpoint(build_model(get_preset("moadepth-tiny")), tmp_path / "ck")
    assert main(["info", str(folder), "--json"]) == 0
    assert '"name": "moadepth-tiny"' in capsys.readouterr().out


def test_info_bad_target_is_one_line(tmp_path, capsys):
    assert main(["info", "no-such-preset"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    (tmp_path / "ck").mkdir()
    (tmp_path / "ck" / "config.json").write_text("garbage")
    assert main(["info", str(tmp_path / "ck")]) == 2
    err = capsys.readouterr().err
    assert "corrupt checkpoint config" in err and err.count("\n") == 1


def test_info_wrong_typed_or_foreign_config_is_one_line(tmp_path, capsys):
    torch.manual_seed(0)
    folder = save_checkpoint(build_model(get_preset("moadepth-tiny")), tmp_path / "ck")
    meta = json.loads((folder / "config.json").read_text())
    meta["model_cfg"]["head"]["fusion"] = "max"
    (folder / "config.json").write_text(json.dumps(meta))
    assert main(["info", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{folder / 'config.json'}: model_cfg.head.fusion: expected one of" in err
    (folder / "config.json").write_text('{"model_cfg": "moadepth-tiny"}')
    assert main(["info", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model_cfg: expected an object" in err
