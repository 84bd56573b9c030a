"""Target profiles in export/: every shipped file loads; mistakes are one-line errors."""
from __future__ import annotations

import pytest

from moadepth_edge.errors import UserError
from moadepth_edge.export.profiles import known_profiles, load_export_profile, read_profile

SHIPPED = {"desktop-rtx-fp16", "jetson-orin-nano-fp16", "jetson-orin-nx-fp16",
           "jetson-agx-orin-int8-dla", "cpu-int8"}


def test_shipped_profiles_load_with_consistent_precisions():
    assert SHIPPED <= set(known_profiles())
    for name in SHIPPED:
        profile, data = load_export_profile(name), read_profile(name)
        assert profile.name == name and profile.precision in ("fp16", "int8")
        assert profile.precision == name.split("-")[-1] or profile.precision in name
        if "tensorrt" in data:
            assert data["tensorrt"]["precision"] == profile.precision
            assert data["tensorrt"]["batch"]["min"] <= data["tensorrt"]["batch"]["max"]


def test_tensorrt_targets_use_symmetric_int8_and_agx_uses_dla():
    agx = load_export_profile("jetson-agx-orin-int8-dla")
    assert agx.int8_activations == "symmetric"
    assert read_profile("jetson-agx-orin-int8-dla")["tensorrt"]["dla_core"] == 0
    cpu = load_export_profile("cpu-int8")
    assert cpu.int8_activations == "asymmetric" and cpu.embed_preprocess


def test_options_hold_only_what_the_profile_sets():
    opts = load_export_profile("jetson-orin-nano-fp16").options()
    assert opts["precision"] == "fp16" and "name" not in opts and "calib_method" not in opts


def test_profile_mistakes(tmp_path):
    with pytest.raises(UserError, match="unknown target profile 'nope'.*known: .*cpu-int8"):
        load_export_profile("nope")
    bad = tmp_path / "typo.toml"
    bad.write_text('[export]\nprecison = "fp16"\n')
    with pytest.raises(UserError, match="unknown \\[export\\] keys \\['precison'\\]"):
        load_export_profile(bad)
    broken = tmp_path / "broken.toml"
    broken.write_text("[export\n")
    with pytest.raises(UserError, match="not valid TOML"):
        load_export_profile(broken)
