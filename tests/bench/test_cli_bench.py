"""`moadepth-edge bench` end to end on a tiny real model: what is measured, what fails alone,
and what stops the run with one line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from moadepth_edge.bench.schema import load_report
from moadepth_edge.cli.main import main

REPO = Path(__file__).resolve().parents[2]
QUICK = ["--warmup", "1", "--iters", "3", "--threads", "1"]


def test_full_run_measures_everything_and_reports_the_failures(bench_run):
    rc, out = bench_run
    assert rc == 1  # the torch backend on ONNX files failed; everything else ran
    report = load_report(out / "report.json")
    by_id = {c.id: c for c in report.configs}
    ok = {cid for cid, c in by_id.items() if c.status == "ok"}
    assert ok == {"tiny_fp32.onnx/onnxruntime/fp32/b1/64x64", "tiny_fp32.onnx/onnxruntime/fp32/b2/64x64",
                  "tiny_int8.onnx/onnxruntime/int8/b1/64x64", "tiny_int8.onnx/onnxruntime/int8/b2/64x64",
                  "tiny/torch-eager/fp32/b1/64x64", "tiny/torch-eager/fp32/b2/64x64"}
    failed = [c for c in report.configs if c.status == "error"]
    assert len(failed) == 4 and all("the torch backend runs a checkpoint folder" in c.error for c in failed)
    for c in report.ok():
        lat = c.latency
        assert lat.n == 15 and lat.min <= lat.p50 <= lat.p90 <= lat.p99 <= lat.max
        assert c.throughput_ips > 0 and c.memory.host_rss_peak_mb >= c.memory.host_rss_before_mb > 0
        if c.batch == 1:  # once per model and backend: pipeline, accuracy, agreement
            assert c.pipeline.frames == 15 and c.pipeline.fps > 0
            assert set(c.pipeline.stage_ms) == {"capture", "preprocess", "infer", "postprocess"}
            assert c.accuracy.images == 1 and 0 <= c.accuracy.metrics["delta1"] <= 1
            assert c.agreement.images == 1
        if c.role == "toolkit":
            assert c.speedup_model > 0
    fp32 = by_id["tiny_fp32.onnx/onnxruntime/fp32/b1/64x64"]
    int8 = by_id["tiny_int8.onnx/onnxruntime/int8/b1/64x64"]
    assert fp32.agreement.delta1_agreement == 1.0 and fp32.agreement.max_abs_err_m == 0.0
    assert int8.agreement.max_abs_err_m > 0  # quantisation changes the output a little
    assert int8.memory.model_size_mb < fp32.memory.model_size_mb
    base = by_id["tiny/torch-eager/fp32/b1/64x64"]
    assert int8.speedup_model == round(base.latency.p50 / int8.latency.p50, 3)
    assert int8.speedup_pipeline == round(int8.pipeline.fps / base.pipeline.fps, 3)
    assert (out / "command.txt").read_text().strip() == report.command
    assert "--baseline torch-eager" in report.command and "--data synthetic:1" in report.command


def test_precision_the_file_lacks_fails_alone(tiny_models, tmp_path, capsys):
    rc = main(["bench", str(tiny_models["fp32"]), str(tiny_models["int8"]), "--precision", "int8",
               *QUICK, "--out", str(tmp_path)])
    assert rc == 1
    err = capsys.readouterr().err
    assert "error: tiny_fp32.onnx/onnxruntime/fp32/b1/64x64: tiny_fp32.onnx holds fp32 weights, not int8" in err
    report = load_report(tmp_path / "report.json")
    assert [c.status for c in report.configs] == ["error", "ok"]
    assert "holds fp32 weights" in (tmp_path / "report.md").read_text()


def test_gpu_backends_without_a_gpu_fail_alone(tiny_models, tmp_path):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine has CUDA")
    rc = main(["bench", str(tiny_models["fp32"]), "--backend", "onnxruntime:cuda,tensorrt,onnxruntime",
               *QUICK, "--out", str(tmp_path)])
    assert rc == 1
    configs = load_report(tmp_path / "report.json").configs
    assert [c.status for c in configs] == ["error", "error", "ok"]
    assert "execution provider 'cuda' is not available" in configs[0].error
    assert "tensorrt" in configs[1].error


def test_a_resolution_the_model_refuses_fails_alone(tiny_models, tmp_path):
    rc = main(["bench", str(tiny_models["fp32"]), "--resolution", "64x64,32x48", *QUICK, "--out", str(tmp_path)])
    assert rc == 1
    ok, bad = load_report(tmp_path / "report.json").configs
    assert ok.status == "ok" and bad.status == "error" and "does not match" in bad.error


def test_a_baseline_device_this_machine_lacks_fails_alone(tiny_models, tmp_path):
    rc = main(["bench", str(tiny_models["fp32"]), "--baseline", "torch-eager:nowhere",
               "--checkpoint", str(tiny_models["checkpoint"]), *QUICK, "--out", str(tmp_path)])
    assert rc == 1
    ours, base = load_report(tmp_path / "report.json").configs
    assert ours.status == "ok" and ours.speedup_model is None
    assert base.role == "baseline" and "torch cannot use device 'nowhere'" in base.error


def test_a_configuration_out_of_memory_fails_alone(tiny_models, tmp_path, monkeypatch, capsys):
    from moadepth_edge.bench import suite

    real = suite._model_input

    def input_or_out_of_memory(backend, batch, hw):
        if batch == 2:
            raise MemoryError("Unable to allocate 56.1 GiB for an array")
        return real(backend, batch, hw)

    monkeypatch.setattr(suite, "_model_input", input_or_out_of_memory)
    rc = main(["bench", str(tiny_models["fp32"]), "--batch", "1,2,4", *QUICK, "--out", str(tmp_path)])
    assert rc == 1
    configs = load_report(tmp_path / "report.json").configs
    assert [(c.batch, c.status) for c in configs] == [(1, "ok"), (2, "error"), (4, "ok")]
    assert configs[1].error == "out of memory: Unable to allocate 56.1 GiB for an array"
    assert "unexpected failure" not in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--batch", "0"], "--batch takes positive integers"),
    (["--batch", "1,100000"], "--batch takes sizes from 1 to 1024, got 100000"),
    (["--resolution", "64"], "HEIGHTxWIDTH"),
    (["--resolution", "64x64,99999x99999"], "--resolution takes sides from 1 to 8192 pixels, got 99999x99999"),
    (["--data", "kitti:/x"], "data path not found"),
    (["--data", "synthetic:-3"], "positive frame count"),
    (["--iters", "5", "--seconds", "1"], "not both"),
    (["--seconds", "nan"], "--seconds must be a finite number > 0, got nan"),
    (["--seconds", "inf"], "--seconds must be a finite number > 0, got inf"),
    (["--video", "/no/such/clip.mp4"], "not found"),
    (["--video", "NOT_A_VIDEO"], "cannot open video file"),
    (["--protocol", "mine", "--data", "synthetic:1"], "unknown protocol"),
    (["--backend", "onnxruntime,bogus"], "unknown backend 'bogus'"),
    (["--backend", "tensorrt:cuda"], "backend 'tensorrt' takes no device"),
    (["--precision", "fp32,fp64"], "unknown precision 'fp64'"),
    (["--baseline", "torch-eager"], "--baseline torch-eager needs --checkpoint"),
    (["--baseline", "tflite", "--checkpoint", "CKPT"], "unknown baseline 'tflite'"),
    (["--reference", "WEIGHTS"], "cannot tell which backend runs 'model.safetensors'"),
])
def test_bad_flags_stop_the_run_with_one_line(tiny_models, tmp_path, capsys, flags, message):
    """QUICK gives --iters too: a bad --seconds is named, not hidden behind "not both"."""
    not_a_video = tmp_path / "clip.mp4"
    not_a_video.write_text("not a video\n")
    stand_in = {"CKPT": tiny_models["checkpoint"], "WEIGHTS": tiny_models["checkpoint"] / "model.safetensors",
                "NOT_A_VIDEO": not_a_video}
    flags = [str(stand_in.get(f, f)) for f in flags]
    assert main(["bench", str(tiny_models["fp32"]), *flags, *QUICK, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "report.json").exists()


def test_no_model_is_one_line(capsys):
    assert main(["bench"]) == 2
    assert "give one or more model files" in capsys.readouterr().err


def test_runs_without_torch(tiny_models, tmp_path):
    """The device path: bench imports and measures an ONNX model with torch unimportable."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from moadepth_edge.cli.main import main\n"
        f"rc = main(['bench', {str(tiny_models['fp32'])!r}, '--warmup', '1', '--iters', '3', "
        f"'--threads', '1', '--data', 'synthetic:1', '--out', {str(tmp_path)!r}])\n"
        "assert sys.modules['torch'] is None\n"
        "sys.exit(rc)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["configs"][0]["status"] == "ok" and data["configs"][0]["accuracy"]["images"] == 1


def test_profile_sets_precision_batches_and_resolution(tiny_models, tmp_path):
    rc = main(["bench", str(tiny_models["fp32"]), str(tiny_models["int8"]), "--profile", "cpu-int8",
               *QUICK, "--out", str(tmp_path / "cpu")])
    assert rc == 1  # the profile is INT8: the FP32 file is refused, the INT8 one measured
    fp32, int8 = load_report(tmp_path / "cpu" / "report.json").configs
    assert "holds fp32 weights, not int8" in fp32.error and int8.status == "ok"

    rc = main(["bench", str(tiny_models["fp32"]), "--profile", "jetson-orin-nano-fp16", "--precision", "fp32",
               *QUICK, "--out", str(tmp_path / "nano")])
    configs = load_report(tmp_path / "nano" / "report.json").configs
    assert [(c.batch, c.resolution) for c in configs] == [(1, [224, 224]), (2, [224, 224])]
    assert rc == 1 and all("does not match" in c.error for c in configs)  # a 64x64 model


def test_unknown_profile_is_one_line(tiny_models, tmp_path, capsys):
    assert main(["bench", str(tiny_models["fp32"]), "--profile", "no-such", "--out", str(tmp_path)]) == 2
    assert "unknown target profile 'no-such'" in capsys.readouterr().err


def test_a_frame_model_is_timed_on_camera_sized_frames(tiny_frame_onnx, tmp_path):
    rc = main(["bench", str(tiny_frame_onnx), "--resolution", "120x160", *QUICK, "--out", str(tmp_path / "a")])
    assert rc == 0
    (config,) = load_report(tmp_path / "a" / "report.json").configs
    assert config.resolution == [120, 160] and config.latency.n == 3
    assert main(["bench", str(tiny_frame_onnx), *QUICK, "--out", str(tmp_path / "b")]) == 0
    assert load_report(tmp_path / "b" / "report.json").configs[0].resolution == [480, 640]


def test_time_budget(tiny_models, tmp_path):
    rc = main(["bench", str(tiny_models["fp32"]), "--warmup", "1", "--seconds", "0.2", "--threads", "1",
               "--out", str(tmp_path)])
    assert rc == 0
    report = load_report(tmp_path / "report.json")
    assert report.budget["seconds"] == 0.2 and report.budget["iters"] is None
    assert report.configs[0].latency.n >= 10
    assert "--seconds 0.2" in report.command and "--iters" not in report.command
