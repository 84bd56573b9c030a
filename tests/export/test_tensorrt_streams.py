"""An engine for N camera streams: `build --streams N` / `[tensorrt] streams = N` give the batch
profile 1:N:N, and the runtime reads the engine's batch limit from its profile."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from cli_helpers import assert_one_error, run_cli

from moadepth_edge.cli.build import build_options
from moadepth_edge.errors import UserError
from moadepth_edge.export.trt_profile import profile_shapes
from moadepth_edge.formats.profile import DimRange, load_profile, streams_batch


def test_n_streams_is_a_batch_range_tuned_for_all_of_them():
    assert streams_batch(4) == DimRange(1, 4, 4)
    shapes, notes = profile_shapes((None, 3, 224, 224), "NCHW", batch=streams_batch(4))
    assert (shapes.min, shapes.opt, shapes.max) == ((1, 3, 224, 224), (4, 3, 224, 224), (4, 3, 224, 224))
    assert notes == []


@pytest.mark.parametrize("bad", [0, 65, -1, True, 2.5, "4"])
def test_a_stream_count_out_of_range_is_refused(bad):
    with pytest.raises(UserError, match="streams must be an integer from 1 to 64"):
        streams_batch(bad)


def test_build_streams_sets_the_batch_and_refuses_a_second_batch_range():
    assert build_options(streams=3).batch == DimRange(1, 3, 3)
    assert build_options(batch="1:2:8").batch == DimRange(1, 2, 8)
    with pytest.raises(UserError, match="--batch and --streams both set the batch range"):
        build_options(batch="1:1:4", streams=4)


def test_the_flag_overrides_a_profiles_batch():
    profile = load_profile("jetson-orin-nano-fp16")
    opts = build_options("jetson-orin-nano-fp16", streams=6)
    assert opts.batch == DimRange(1, 6, 6) and opts.batch != profile.tensorrt.batch


def test_a_profile_can_say_streams_instead_of_batch(tmp_path):
    path = tmp_path / "four-doors.toml"
    path.write_text('name = "four-doors"\n[tensorrt]\nprecision = "fp16"\nstreams = 4\n')
    profile = load_profile(path)
    assert profile.tensorrt.batch == DimRange(1, 4, 4) and profile.tensorrt.streams == 4
    assert build_options(str(path)).batch == DimRange(1, 4, 4)
    both = tmp_path / "both.toml"
    both.write_text("[tensorrt]\nstreams = 4\nbatch = 2\n")
    with pytest.raises(UserError, match=r"both.toml \[tensorrt\] sets both batch and streams"):
        load_profile(both)
    bad = tmp_path / "bad.toml"
    bad.write_text("[tensorrt]\nstreams = 0\n")
    with pytest.raises(UserError, match="streams must be positive"):
        load_profile(bad)


def test_the_engine_backend_reports_its_profiles_batch_limit():
    from moadepth_edge.runtime.backends.tensorrt import TensorRTBackend

    engine = TensorRTBackend.__new__(TensorRTBackend)  # TensorRT is not installed here: its profile only
    engine.runner = SimpleNamespace(profile=[(1, 3, 224, 224), (4, 3, 224, 224), (4, 3, 224, 224)])
    assert engine.max_batch == 4


@pytest.mark.parametrize("args, expected", [
    (["--streams", "4", "--batch", "1:1:4"], "--batch and --streams both set the batch range"),
    (["--streams", "0"], "streams must be an integer from 1 to 64"),
])
def test_build_flag_mistakes_come_before_tensorrt_is_needed(tiny_onnx, tmp_path, args, expected):
    proc = run_cli("build", tiny_onnx, "--out", tmp_path / "x.engine", *args)
    assert expected in assert_one_error(proc.returncode, proc.stderr)
