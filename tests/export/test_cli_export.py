"""`moadepth-edge export`: profile defaults, command-line overrides, one-line errors."""
from __future__ import annotations

import pytest

pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from moadepth_edge.formats.artifact import ModelArtifact
from moadepth_edge.cli.main import main


def _artifact(path) -> ModelArtifact:
    proto = onnx.load(str(path))
    return ModelArtifact.from_metadata_props({p.key: p.value for p in proto.metadata_props})


def test_profile_then_override(tiny_checkpoint, tmp_path):
    rc = main(["export", str(tiny_checkpoint), "--out", str(tmp_path), "--profile",
               "jetson-orin-nano-fp16", "--precision", "fp32", "--embed-preprocess"])
    assert rc == 0
    artifact = _artifact(tmp_path / "tiny-fp32.onnx")
    assert artifact.precision == "fp32" and artifact.input_kind == "frame"
    assert artifact.checkpoint_sha256


def test_triton_format(tmp_path):
    assert main(["export", "moadepth-tiny", "--out", str(tmp_path), "--format", "triton"]) == 0
    assert (tmp_path / "triton" / "moadepth" / "1" / "model.onnx").is_file()
    assert (tmp_path / "triton" / "moadepth" / "config.pbtxt").is_file()


@pytest.mark.parametrize("argv, message", [
    (["--profile", "nope"], "unknown target profile 'nope'"),
    (["--precision", "int8"], "needs calibration images"),
    (["--precision", "int8", "--calib", "EMPTY"], "no 8-bit colour images"),
    (["--format", "tar"], "unknown --format"),
])
def test_mistakes_are_one_line(tmp_path, capsys, argv, message):
    (tmp_path / "empty").mkdir()
    argv = [str(tmp_path / "empty") if a == "EMPTY" else a for a in argv]
    assert main(["export", "moadepth-tiny", "--out", str(tmp_path / "out"), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and "\n" not in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").glob("*.onnx"))


def test_checkpoint_folder_without_config(tmp_path, capsys):
    (tmp_path / "ckpt").mkdir()
    assert main(["export", str(tmp_path / "ckpt"), "--out", str(tmp_path)]) == 2
    assert "no config.json" in capsys.readouterr().err
