"""Target profiles: one reader, validated on read, shipped inside the package, flags on top."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from moadepth_edge.errors import UserError
from moadepth_edge.formats.profile import (
    PROFILE_DIR, DimRange, ExportSettings, TargetProfile, known_profiles, load_profile, override,
)

REPO = Path(__file__).resolve().parents[2]
SHIPPED = {"desktop-rtx-fp16", "jetson-orin-nano-fp16", "jetson-orin-nx-fp16",
           "jetson-agx-orin-int8-dla", "cpu-int8"}

TOML = """
name = "jetson-agx-orin-int8-dla"
[input]
height = 224
width = { min = 160, opt = 224, max = 320 }
[tensorrt]
precision = "int8"
workspace_mb = 2048
dla_core = 0
batch = { min = 1, opt = 2, max = 4 }
version_compatible = true
"""




def test_shipped_profiles_load_with_consistent_precisions():
    assert SHIPPED <= set(known_profiles())
    for name in SHIPPED:
        prof = load_profile(name)
        assert prof.name == name and prof.export.precision in ("fp16", "int8")
        assert prof.export.precision in name
        if prof.tensorrt.precision:
            assert prof.tensorrt.precision == prof.export.precision
            assert prof.height == DimRange(224, 224, 224) and prof.tensorrt.batch is not None
            assert (prof.tensorrt.dla_core is not None) == name.endswith("-dla")


def test_the_repository_export_folder_shows_the_shipped_files():
    shown = {p.name: p.resolve() for p in (REPO / "export").glob("*.toml")}
    assert set(shown) == {p.name for p in PROFILE_DIR.glob("*.toml")}
    assert all(path.parent == PROFILE_DIR.resolve() for path in shown.values())


def test_tensorrt_targets_use_symmetric_int8_and_agx_uses_dla():
    agx = load_profile("jetson-agx-orin-int8-dla")
    assert agx.export.int8_activations == "symmetric" and agx.tensorrt.dla_core == 0
    cpu = load_profile("cpu-int8")
    assert cpu.export.int8_activations == "dynamic" and cpu.export.embed_preprocess


def test_a_users_toml_file_and_its_views(tmp_path):
    path = tmp_path / "agx.toml"
    path.write_text(TOML)
    prof = load_profile(path)
    assert prof.name == "jetson-agx-orin-int8-dla"
    trt = prof.tensorrt
    assert (trt.precision, trt.workspace_mb, trt.dla_core, trt.version_compatible) == ("int8", 2048, 0, True)
    assert trt.batch == DimRange(1, 2, 4) and trt.hardware_compat is None
    assert prof.height == DimRange(224, 224, 224) and prof.width == DimRange(160, 224, 320)
    assert prof.bench_view() == ((1, 2, 4), ((224, 224),), ("int8",))
    assert prof.export.options() == {}


def test_flags_override_a_profile_one_way():
    prof = load_profile("jetson-orin-nano-fp16")
    merged = override(prof.export, precision="int8", opset=None, simplify=False)
    assert merged.precision == "int8" and merged.opset == prof.export.opset and merged.simplify is False
    assert override(ExportSettings(), opset=18).options() == {"opset": 18}
    assert TargetProfile().bench_view() == ((), (), ())


@pytest.mark.parametrize("text, match", [
    ('[export]\nprecison = "fp16"\n', r"unknown \[export\] keys \['precison'\]"),
    ("[tensorrt]\nworkspace = 512\n", r"unknown \[tensorrt\] keys \['workspace'\]"),
    ("[export\n", "not valid TOML"),
    ('[export]\nprecision = "int4"\n', "precision must be one of fp32, fp16, int8"),
    ('[export]\nopset = "17"\n', "opset must be an integer"),
    ("[export]\nsimplify = 1\n", "simplify must be true or false"),
    ("[tensorrt]\nworkspace_mb = 0\n", "workspace_mb must be positive"),
    ("[tensorrt]\nbatch = { min = 4, opt = 2, max = 8 }\n", "min <= opt <= max"),
    ('[input]\nheight = "tall"\n', "height: expected N"),
    ('[tensorrt]\nhardware_compat = "any"\n', "hardware_compat must be one of"),
    ("[deploy]\nx = 1\n", "unknown keys or tables"),
    ('export = "fp16"\n', r"\[export\] must be a table"),
])
def test_profile_mistakes_are_one_line(tmp_path, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(UserError, match=match):
        load_profile(path)


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(UserError, match="unknown target profile 'nope'.*known: .*cpu-int8"):
        load_profile("nope")


def test_a_missing_profile_file_is_named_as_missing(tmp_path):
    with pytest.raises(UserError, match="profile file not found: .*nothere.toml"):
        load_profile(tmp_path / "nothere.toml")


def test_a_profile_resolves_from_the_built_wheel_outside_the_source_tree(tmp_path):
    """Build the wheel, unpack it elsewhere and load a profile by name from there."""
    source = tmp_path / "src"  # a copy: an in-tree build would leave build/ in the checkout
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "runs", "demo_out", "__pycache__", "*.egg-info", "benchmarks", "docs"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                            "-q", "-w", str(tmp_path / "dist")], capture_output=True, text=True, timeout=300)
    if built.returncode != 0 and "No module named" in built.stderr:
        pytest.skip(f"cannot build a wheel here: {built.stderr.strip().splitlines()[-1]}")
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("moadepth_edge-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        assert "moadepth_edge/formats/profiles/cpu-int8.toml" in zf.namelist()
        zf.extractall(tmp_path / "site")
    code = ("import moadepth_edge, sys; from moadepth_edge.formats.profile import load_profile; "
            "assert 'site' in moadepth_edge.__file__, moadepth_edge.__file__; "
            "print(load_profile('jetson-orin-nano-fp16').tensorrt.precision)")
    env = {"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"}  # before the editable install
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "fp16"
