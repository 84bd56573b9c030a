"""Bad inputs to export, build and bench, and model files every verb reads: each ends with the
right exit code, exactly one `error:` line, no traceback and nothing half-written.

Most cases call `main(argv)` in this process (the same boundary the console script uses); a
few run the real CLI in a subprocess where a signal or a file-size limit is the fault."""
from __future__ import annotations

import json
import os
import resource
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import REPO, assert_one_error, run_cli

from moadepth_edge.cli.main import main


@pytest.fixture(scope="module")
def files(tiny_onnx, tiny_checkpoint, tmp_path_factory) -> dict[str, Path]:
    """Good, empty, random, foreign, mislabelled and corrupt model files beside each other."""
    import onnx

    root = tmp_path_factory.mktemp("bad_models")
    good = tiny_onnx
    (root / "empty.onnx").write_bytes(b"")
    (root / "random.onnx").write_bytes(os.urandom(3000))
    (root / "text.onnx").write_text("not a model\n")
    proto = onnx.load(str(good))
    del proto.metadata_props[:]
    onnx.save(proto, str(root / "foreign.onnx"))  # a valid ONNX with no moadepth metadata
    proto = onnx.load(str(good))
    meta = json.loads(proto.metadata_props[0].value)
    meta["model_cfg"]["preprocess"]["size"] = [128, 128]  # the graph takes 64x64
    proto.metadata_props[0].value = json.dumps(meta)
    onnx.save(proto, str(root / "mislabelled.onnx"))
    meta["model_cfg"]["preprocess"]["size"] = [64, 64]
    meta["model_cfg"]["bins"]["n_bins"] = "many"
    proto.metadata_props[0].value = json.dumps(meta)
    onnx.save(proto, str(root / "wrongtype.onnx"))
    (root / "random.engine").write_bytes(os.urandom(200))
    (root / "truncated.engine").write_bytes(b"MOADTRT\x00" + struct.pack("<I", 500) + b'{"tensor')
    header = {"format_version": 1, "tensorrt_version": "ten.three", "cuda_version": "12.6",
              "gpu_name": "Orin", "compute_capability": [8, 7], "precision": "fp16",
              "artifact": json.loads(onnx.load(str(good)).metadata_props[0].value), "onnx_sha256": ""}
    text = json.dumps(header).encode()
    (root / "badversion.engine").write_bytes(b"MOADTRT\x00" + struct.pack("<I", len(text)) + text + b"plan")
    (root / "afile").write_text("x")
    return {"good": good, "checkpoint": tiny_checkpoint, "root": root}


def _main(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


BAD_MODEL_FILES = ["empty.onnx", "random.onnx", "text.onnx", "foreign.onnx", "mislabelled.onnx",
                   "wrongtype.onnx", "random.engine", "truncated.engine", "badversion.engine", "missing.onnx"]


@pytest.mark.parametrize("name", BAD_MODEL_FILES)
def test_run_refuses_bad_model_files(files, capsys, name):
    rc, _, err = _main(capsys, "run", files["root"] / name, "--source", files["root"] / "afile")
    line = assert_one_error(rc, err)
    assert "install" not in line or "engine" not in name, line  # corrupt engines: named corrupt
    if name == "empty.onnx":
        assert "empty" in line
    if name == "mislabelled.onnx":
        assert "metadata" in line and "graph" in line
    if name == "badversion.engine":
        assert "version" in line


@pytest.mark.parametrize("name", BAD_MODEL_FILES[:6] + ["missing.onnx"])
def test_build_refuses_bad_onnx_before_needing_tensorrt(files, capsys, name):
    rc, _, err = _main(capsys, "build", files["root"] / name)
    line = assert_one_error(rc, err)
    assert "TensorRT is not installed" not in line, line


def test_build_of_a_checkpoint_folder_says_to_export_it_first(tiny_checkpoint, capsys):
    rc, _, err = _main(capsys, "build", tiny_checkpoint)
    assert "is a folder; expected an exported .onnx file" in assert_one_error(rc, err)


@pytest.mark.parametrize("extra, needle", [
    (["--out", "/proc/x.engine"], "--out"),
    (["--out", "{root}"], "expected a .engine"),
    (["--out", "{root}/m.onnx"], ".engine"),
    (["--workspace", "0"], "--workspace"),
    (["--batch", "a:b:c"], "--batch"),
    (["--precision", "int4"], "--precision"),
    (["--profile", "no-such-profile"], "profile"),
])
def test_build_refuses_bad_options_before_needing_tensorrt(files, capsys, extra, needle):
    extra = [e.format(root=files["root"]) for e in extra]
    rc, _, err = _main(capsys, "build", files["good"], *extra)
    assert needle in assert_one_error(rc, err)


@pytest.mark.parametrize("extra, needle", [
    (["--out", "{root}/afile"], "is a file"),
    (["--out", "/proc/x"], "/proc"),
    (["--out", "{root}/afile/sub"], "is a file"),
    (["--opset", "99"], "--opset"),
    (["--opset", "5"], "--opset"),
    (["--precision", "int8", "--calib", "synthetic:2", "--calib-images", "0"], "--calib-images"),
    (["--precision", "int4"], "precision"),
    (["--name", "../escape"], "--name"),
    (["--format", "tflite"], "--format"),
    (["--profile", "no-such-profile"], "profile"),
    (["--format", "triton", "--engine", "{root}/missing.engine"], "--engine"),
    (["--calib-method", "foo"], "--calib-method must be one of minmax, percentile, entropy"),
    (["--precision", "int8", "--calib", "synthetic:2", "--int8-activations", "foo"], "--int8-activations must be"),
    (["--calib", "synthetic:4"], "--calib goes with --precision int8; this export is fp32"),
    (["--precision", "fp16", "--calib-images", "5", "--calib-batch", "2"], "--calib-batch, --calib-images go with"),
    (["--precision", "int8", "--calib", "synthetic:-3"], "positive frame count"),
    (["--precision", "int8", "--calib", "{root}/no-such-folder"], "image folder not found"),
])
def test_export_refuses_bad_options_before_work(files, capsys, tmp_path, extra, needle):
    extra = [e.format(root=files["root"]) for e in extra]
    if "--out" not in extra:
        extra += ["--out", str(tmp_path / "out")]
    rc, out, err = _main(capsys, "export", "moadepth-tiny", *extra)
    assert needle in assert_one_error(rc, err)
    assert len(out) < 1000  # no graph dump
    assert not list((tmp_path / "out").glob("*.onnx")) if (tmp_path / "out").exists() else True


@pytest.mark.parametrize("target", ["no-such-preset", "{root}", "{root}/afile"])
def test_export_refuses_what_is_not_a_model(files, capsys, tmp_path, target):
    rc, _, err = _main(capsys, "export", target.format(root=files["root"]), "--out", tmp_path)
    assert_one_error(rc, err)


@pytest.mark.parametrize("extra, needle", [
    (["--out", "{root}/afile"], "is a file"),
    (["--out", "/proc/bench"], "/proc"),
    (["--iters", "0"], "--iters"),
    (["--batch", "0"], "--batch"),
    (["--batch", "two"], "--batch"),
    (["--resolution", "0x64"], "--resolution"),
    (["--threads", "0"], "--threads"),
    (["--warmup", "-1"], "--warmup"),
    (["--video", "{root}/missing.mp4"], "not found"),
    (["--protocol", "nope"], "protocol"),
    (["--backend", "bogus"], "unknown backend"),
    (["--precision", "fp64"], "unknown precision"),
    (["--baseline", "torch-eager"], "needs --checkpoint"),
    (["--reference", "{root}/afile"], "--reference"),
    (["--batch", "100000"], "--batch"),
    (["--resolution", "99999x99999"], "--resolution"),
    (["--seconds", "nan"], "--seconds"),
    (["--seconds", "inf"], "--seconds"),
    (["--video", "{root}/afile"], "cannot open video"),
])
def test_bench_refuses_bad_options_before_measuring(files, capsys, tmp_path, extra, needle):
    extra = [e.format(root=files["root"]) for e in extra]
    if "--out" not in extra:
        extra += ["--out", str(tmp_path / "b")]
    rc, _, err = _main(capsys, "bench", files["good"], "--iters", "2", "--warmup", "0", *extra)
    assert needle in assert_one_error(rc, err)
    assert not (tmp_path / "b" / "report.json").exists()


def test_bench_compare_refuses_foreign_reports(files, capsys):
    foreign = files["root"] / "foreign.json"
    foreign.write_text('{"configs": 3}')
    rc, _, err = _main(capsys, "bench", "--compare", foreign, files["root"] / "afile")
    assert_one_error(rc, err)


def _limit_file_size(limit: int):
    def pre() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return pre


def test_bench_report_that_cannot_be_written_is_a_failure_not_success(files, tmp_path):
    """A full disk (here: a 512-byte file-size limit) while writing the report: exit 1, one line
    naming the file, and no half-written report.json."""
    proc = run_cli("bench", files["good"], "--iters", "2", "--warmup", "0", "--threads", "1",
                   "--out", tmp_path, preexec_fn=_limit_file_size(512))
    line = assert_one_error(proc.returncode, proc.stderr, expected_rc=1)
    assert "report.json" in line and "too large" in line.lower()
    assert not (tmp_path / "report.json").exists()


def test_export_onto_a_full_disk_is_a_failure_naming_the_file(tmp_path):
    """The disk fills while the graph is traced (a 64 KiB file-size limit): exit 1, one line
    naming the ONNX file, and nothing left in --out."""
    proc = run_cli("export", "moadepth-tiny", "--out", tmp_path / "out", preexec_fn=_limit_file_size(64 * 1024))
    line = assert_one_error(proc.returncode, proc.stderr, expected_rc=1)
    assert "moadepth-tiny-fp32.onnx" in line and "too large" in line.lower()
    assert list((tmp_path / "out").iterdir()) == []


def test_sigterm_during_bench_writes_the_report_and_exits_143(files, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "moadepth_edge", "bench", str(files["good"]),
                             "--batch", "1,2,4", "--seconds", "20", "--warmup", "1", "--threads", "1",
                             "--out", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    time.sleep(15)  # imports and model load (slow on a loaded machine), into the first 20 s configuration
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err[-2000:]
    assert "Traceback" not in err
    report = json.loads((tmp_path / "report.json").read_text())
    assert 1 <= len(report["configs"]) < 3
    assert any(n.startswith("Stopped by SIGTERM") for n in report["notes"])
    assert (tmp_path / "report.md").is_file()


def test_unexpected_failure_is_one_line_with_the_traceback_in_a_log(tmp_path, monkeypatch, capsys):
    from moadepth_edge.cli.boundary import report_failure

    monkeypatch.setenv("MOADEPTH_LOG_DIR", str(tmp_path))
    monkeypatch.delenv("MOADEPTH_DEBUG", raising=False)
    try:
        {}["missing"]
    except KeyError as exc:
        rc = report_failure(exc)
    err = capsys.readouterr().err
    line = assert_one_error(rc, err, expected_rc=1)
    assert "unexpected failure" in line
    (log,) = tmp_path.glob("moadepth-edge-crash-*.log")
    assert "Traceback" in log.read_text() and "KeyError" in log.read_text()
    monkeypatch.setenv("MOADEPTH_DEBUG", "1")
    try:
        {}["missing"]
    except KeyError as exc:
        assert report_failure(exc) == 1
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["run", "m.onnx", "--bogus"], ["bench", "--batch"], ["nosuchverb"],
                                  ["export", "moadepth-tiny", "--opset", "seventeen"]])
def test_bad_flags_are_one_line(capsys, argv):
    rc, _, err = _main(capsys, *argv)
    assert_one_error(rc, err)
