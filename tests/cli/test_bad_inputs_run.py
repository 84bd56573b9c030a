"""`moadepth-edge run` against a hostile user and a hostile machine, through the REAL CLI in
subprocesses: bad models, bad sources, bad outputs, bad numbers, credentials in URLs, signals,
a disk that fills, a stream that goes silent.

Every case: the expected exit code, exactly one `error:` line (none for a signal), no
traceback, no password, no half-written output, and the outputs written before a failure
intact. The user-mistake matrix is run concurrently in one module fixture (a subprocess that
fails fast spends its time importing), then checked case by case.
"""
from __future__ import annotations

import importlib.util
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest
from cli_helpers import decoded_frames

REPO = Path(__file__).resolve().parents[2]
RUNTIME_TESTS = REPO / "tests" / "runtime"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# the runtime tests' silent MJPEG camera
SilentCamera = _load("_mjpeg_server", RUNTIME_TESTS / "mjpeg_server.py").SilentCamera

SECRET = "p@ss/w:rd"


def _cli(*args: str, timeout: float = 120, preexec_fn=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "MOADEPTH_LOG_DIR": os.devnull}
    return subprocess.run([sys.executable, "-m", "moadepth_edge", "run", *args, "--headless"],
                          capture_output=True, text=True, env=env, timeout=timeout, preexec_fn=preexec_fn)


def _popen(*args: str, preexec_fn=None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "moadepth_edge", "run", *args, "--headless"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=preexec_fn)


def _wait_for_files(folder: Path, count: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while len(list(folder.glob("*.png"))) < count and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def _assert_clean(code: int, stdout: str, stderr: str, expected: int, errors: int = 1) -> None:
    assert code == expected, stderr
    assert len(_errors(stderr)) == errors, stderr
    assert "Traceback" not in stdout + stderr and "unexpected failure" not in stderr
    assert SECRET not in stdout + stderr and "w:rd" not in stdout + stderr


def _files(folder: Path) -> list[str]:
    """Every file under `folder` (hidden temp files too); empty folders do not count."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir()) if folder.exists() else []


def _write_video(path: Path, frames: int, size: tuple[int, int] = (64, 48)) -> Path:
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 30.0, (w, h))
    for i in range(frames):
        writer.write(np.full((h, w, 3), (7 * i) % 256, np.uint8))
    writer.release()
    return path



def _summary_frames(stderr: str) -> int:
    match = re.search(r"^(.*): (\d+) frames in ", stderr, re.MULTILINE)
    assert match, stderr
    return int(match.group(2))


# -- the user-mistake matrix: exit 2, one line, checked before any output is written ---------
# each: (id, arguments, expected message); {model} {video} {ws} {out} are filled in; unless
# the case names its own outputs, `--save {out}/out.mp4 --save-depth {out}/depth` is added
# and {out} must hold no file afterwards
CASES = [
    ("model-missing", ["{ws}/missing.onnx", "-s", "{video}"], "model not found"),
    ("model-empty", ["{ws}/empty.onnx", "-s", "{video}"], "is an empty file (0 bytes)"),
    ("model-random-bytes", ["{ws}/random.onnx", "-s", "{video}"], "not a readable ONNX model"),
    ("model-text-file", ["{ws}/text.onnx", "-s", "{video}"], "not a readable ONNX model"),
    ("model-truncated", ["{ws}/truncated.onnx", "-s", "{video}"], "not a readable ONNX model"),
    ("model-foreign-onnx", ["{ws}/foreign.onnx", "-s", "{video}"], "has no moadepth metadata"),
    ("source-missing", ["{model}", "-s", "{ws}/missing.mp4"], "source not found"),
    ("source-empty-video", ["{model}", "-s", "{ws}/empty.mp4"], "cannot open video file"),
    ("source-random-bytes", ["{model}", "-s", "{ws}/random.mp4"], "cannot open video file"),
    ("source-truncated-video", ["{model}", "-s", "{ws}/truncated.mp4"], "cannot open video file"),
    ("source-folder-without-images", ["{model}", "-s", "{ws}/notes"], "no images found"),
    ("source-broken-image", ["{model}", "-s", "{ws}/broken.jpg"], "no frame could be read"),
    ("save-under-a-file", ["{model}", "-s", "{video}", "--save", "{ws}/a_file/out.mp4"], "is a file, not a folder"),
    ("save-in-proc", ["{model}", "-s", "{video}", "--save", "/proc/moadepth/out.mp4"], "--save /proc/moadepth/out.mp4"),
    ("save-a-folder", ["{model}", "-s", "{video}", "--save", "{ws}/folder.mp4"], "is a folder"),
    ("save-no-video-suffix", ["{model}", "-s", "{video}", "--save", "{ws}/out.txt"], "expected a .mp4"),
    ("save-over-earlier-video", ["{model}", "-s", "{video}", "--save", "{ws}/earlier.mp4"], "already exists"),
    ("save-over-the-source", ["{model}", "-s", "{video}", "--save", "{video}", "--overwrite"], "is the source"),
    ("save-depth-a-file", ["{model}", "-s", "{video}", "--save-depth", "{ws}/a_file"], "is a file, expected a folder"),
    ("save-depth-earlier-run", ["{model}", "-s", "{video}", "--save-depth", "{ws}/earlier_depth"],
     "already holds outputs of an earlier run"),
    ("pointcloud-in-proc", ["{model}", "-s", "{video}", "--pointcloud", "/proc/moadepth"], "--pointcloud /proc/moadepth"),
    ("pointcloud-earlier-run", ["{model}", "-s", "{video}", "--pointcloud", "{ws}/earlier_ply"],
     "already holds outputs of an earlier run"),
    ("intrinsics-nan", ["{model}", "-s", "{video}", "--intrinsics", "nan,1,2,3"], "intrinsics must be finite"),
    ("intrinsics-inf-json", ["{model}", "-s", "{video}", "--intrinsics", "{ws}/inf.json"], "intrinsics must be finite"),
    ("intrinsics-zero-focal", ["{model}", "-s", "{video}", "--intrinsics", "0,1,2,3"], "focal lengths must be positive"),
    ("range-reversed", ["{model}", "-s", "{video}", "--range", "8:1"], "0 <= MIN < MAX"),
    ("range-nan", ["{model}", "-s", "{video}", "--range", "nan:4"], "0 <= MIN < MAX"),
    ("depth-format-unknown", ["{model}", "-s", "{video}", "--depth-format", "png,exr"], "depth formats must be"),
    ("camera-negative", ["{model}", "--camera", "-1"], "camera index must be 0..99"),
    ("camera-not-a-number", ["{model}", "--camera", "rtsp://u:" + SECRET + "@h/s"], "--camera takes a camera index"),
    ("camera-and-source", ["{model}", "--camera", "0", "-s", "{video}"], "exactly one of"),
    ("fps-infinite", ["{model}", "-s", "{video}", "--fps", "inf"], "--fps must be a positive number"),
    ("source-timeout-zero", ["{model}", "-s", "{video}", "--source-timeout", "0"], "--source-timeout must be"),
    ("smooth-out-of-range", ["{model}", "-s", "{video}", "--smooth", "1.5"], "--smooth"),
    ("url-password-with-slash", ["{model}", "-s", "rtsp://user:" + SECRET + "@127.0.0.1:1/s", "--source-timeout", "1"],
     "cannot open stream rtsp://***@127.0.0.1:1/s"),
    ("url-password-with-at", ["{model}", "-s", "rtsp://u:x@w:rd@127.0.0.1:1/s", "--source-timeout", "1"],
     "cannot open stream rtsp://***@127.0.0.1:1/s"),
    ("url-password-with-colons", ["{model}", "-s", "rtsp://u:" + SECRET + ":q@127.0.0.1:554/s", "--source-timeout", "1"],
     "rtsp://***@127.0.0.1:554/s"),
    ("url-unknown-scheme", ["{model}", "-s", "rtp://u:" + SECRET + "@127.0.0.1:1/s"], "source not found: rtp://***@"),
    ("url-password-in-query", ["{model}", "-s", "rtsp://127.0.0.1:1/s?user=u&password=" + SECRET, "--source-timeout", "1"],
     "cannot open stream rtsp://127.0.0.1:1/s?user=u&password=***"),
    ("save-depth-into-the-images-read", ["{model}", "-s", "{ws}/images", "--save-depth", "{ws}/images", "--overwrite"],
     "--save-depth {ws}/images is the folder of the images being read"),
    ("pointcloud-into-a-globs-folder", ["{model}", "-s", "{ws}/images/*.png", "--pointcloud", "{ws}/images/"],
     "is the folder of the images being read"),
    ("save-and-save-depth-one-path", ["{model}", "-s", "{video}", "--save", "{out}/x.mp4", "--save-depth", "{out}/x.mp4"],
     "--save and --save-depth are the same path"),
    ("bad-model-with-new-output-folders", ["{ws}/random.onnx", "-s", "{video}", "--save", "{out}/new/v.mp4",
                                           "--save-depth", "{out}/depth", "--pointcloud", "{out}/ply"],
     "not a readable ONNX model"),
]
OWN_OUTPUTS = ("--save", "--save-depth", "--pointcloud")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, tiny_onnx) -> Path:
    ws = tmp_path_factory.mktemp("hostile")
    (ws / "empty.onnx").write_bytes(b"")
    (ws / "random.onnx").write_bytes(np.random.default_rng(0).bytes(4096))
    (ws / "text.onnx").write_text("this is not a model\n")
    data = tiny_onnx.read_bytes()
    (ws / "truncated.onnx").write_bytes(data[: len(data) // 2])
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "foreign",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])])
    onnx.save(helper.make_model(graph), str(ws / "foreign.onnx"))
    (ws / "notes").mkdir()
    (ws / "notes" / "readme.txt").write_text("no images, no config.json")
    (ws / "empty.mp4").write_bytes(b"")
    (ws / "random.mp4").write_bytes(np.random.default_rng(1).bytes(4096))
    video = _write_video(ws / "clip.mp4", 8)
    (ws / "truncated.mp4").write_bytes(video.read_bytes()[: video.stat().st_size // 2])  # index gone
    (ws / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (ws / "a_file").write_text("a file where a folder is expected")
    (ws / "folder.mp4").mkdir()
    (ws / "earlier.mp4").write_bytes(b"an earlier run's video")
    (ws / "earlier_depth").mkdir()
    (ws / "earlier_depth" / "000000.png").write_bytes(b"an earlier run's depth")
    (ws / "earlier_ply").mkdir()
    (ws / "earlier_ply" / "000000.ply").write_bytes(b"an earlier run's cloud")
    (ws / "inf.json").write_text('{"fx": Infinity, "fy": 500, "cx": 32, "cy": 24}')
    (ws / "images").mkdir()
    cv2.imwrite(str(ws / "images" / "000000.png"), np.full((48, 64, 3), 90, np.uint8))
    return ws


@pytest.fixture(scope="module")
def mistakes(workspace, tiny_onnx) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    """Every CASES row run through the CLI, three at a time."""
    def one(case):
        name, args, _ = case
        out = workspace / "outputs" / name
        fill = {"model": str(tiny_onnx), "video": str(workspace / "clip.mp4"), "ws": str(workspace), "out": str(out)}
        argv = [a.format(**fill) for a in args]
        if not any(flag in argv for flag in OWN_OUTPUTS):
            argv += ["--save", f"{out}/out.mp4", "--save-depth", f"{out}/depth"]
        return name, (_cli(*argv), out)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(pool.map(one, CASES))


@pytest.mark.parametrize("name, message", [(c[0], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_a_user_mistake_is_one_line_before_any_output(mistakes, workspace, name, message):
    proc, out = mistakes[name]
    _assert_clean(proc.returncode, proc.stdout, proc.stderr, expected=2)
    assert message.format(ws=workspace) in _errors(proc.stderr)[0]
    assert not out.exists()  # nothing written or created, not even an empty folder
    assert (workspace / "earlier.mp4").read_bytes() == b"an earlier run's video"
    assert _files(workspace / "earlier_depth") == ["000000.png"]
    assert _files(workspace / "images") == ["000000.png"]
    assert cv2.imread(str(workspace / "images" / "000000.png"))[0, 0, 0] == 90  # the input, untouched


# -- signals: finish the frame, finalise everything, summary, 128 + N -------------------------
@pytest.fixture(scope="module")
def long_video(tmp_path_factory) -> Path:
    return _write_video(tmp_path_factory.mktemp("long") / "long.mp4", 3000)


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)],
                         ids=["SIGTERM", "SIGINT", "SIGHUP"])
def test_a_signal_during_run_save_finalises_every_output(tiny_onnx, long_video, tmp_path, sig, code):
    depth = tmp_path / "depth"
    proc = _popen(str(tiny_onnx), "-s", str(long_video), "--save", str(tmp_path / "out.mp4"),
                  "--save-depth", str(depth), "--threads", "1")
    _wait_for_files(depth, 5, proc)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    _assert_clean(proc.returncode, stdout, stderr, expected=code, errors=0)
    assert f"stopped by {sig.name}: " in stderr
    frames = _summary_frames(stderr)
    assert 5 <= frames < 3000
    assert decoded_frames(tmp_path / "out.mp4") == frames  # indexed: it plays, every frame
    pngs = sorted(depth.glob("*.png"))
    assert len(pngs) == frames and all(cv2.imread(str(p), cv2.IMREAD_UNCHANGED) is not None for p in pngs)
    assert [p for p in _files(tmp_path) if Path(p).name.startswith(".")] == []


def test_a_second_signal_ends_the_run_at_once_without_leaving_temp_files(tiny_onnx, long_video, tmp_path):
    proc = _popen(str(tiny_onnx), "-s", str(long_video), "--save", str(tmp_path / "out.mp4"),
                  "--save-depth", str(tmp_path / "depth"), "--threads", "1")
    _wait_for_files(tmp_path / "depth", 5, proc)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert [p for p in _files(tmp_path) if Path(p).name.startswith(".")] == []


def test_a_run_started_under_nohup_keeps_running_through_a_hangup(tiny_onnx, long_video, tmp_path):
    """A signal the run was started ignoring (nohup: SIGHUP) stays ignored; SIGTERM still stops it."""
    depth = tmp_path / "depth"
    proc = _popen(str(tiny_onnx), "-s", str(long_video), "--save-depth", str(depth), "--threads", "1",
                  preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    _wait_for_files(depth, 5, proc)
    proc.send_signal(signal.SIGHUP)
    written = len(list(depth.glob("*.png")))
    _wait_for_files(depth, written + 10, proc)
    assert proc.poll() is None  # still running after the hangup
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    _assert_clean(proc.returncode, stdout, stderr, expected=143, errors=0)
    assert "stopped by SIGTERM: " in stderr and _summary_frames(stderr) >= written + 10


# -- a write that fails mid-run: exit 1, one line, what was written before stays valid ---------
def test_a_disk_that_fills_mid_run_fails_with_playable_outputs(tiny_onnx, long_video, small_disk):
    disk = small_disk(600)
    proc = _cli(str(tiny_onnx), "-s", str(long_video), "--save", str(disk / "out.mp4"),
                "--save-depth", str(disk / "depth"), "--threads", "1")
    _assert_clean(proc.returncode, proc.stdout, proc.stderr, expected=1)
    assert re.match(rf"error: cannot write {re.escape(str(disk / 'out.mp4'))}: No space left on device",
                    _errors(proc.stderr)[0])
    frames = decoded_frames(disk / "out.mp4")
    pngs = sorted((disk / "depth").glob("*.png"))
    assert frames > 0 and len(pngs) == frames
    assert all(cv2.imread(str(p), cv2.IMREAD_UNCHANGED) is not None for p in pngs)
    assert [p for p in _files(disk) if Path(p).name.startswith(".")] == []


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))


def test_a_write_refused_mid_run_fails_without_a_half_written_video(tiny_onnx, long_video, tmp_path):
    proc = _cli(str(tiny_onnx), "-s", str(long_video), "--save", str(tmp_path / "out.mp4"),
                "--save-depth", str(tmp_path / "depth"), "--max-frames", "1500", preexec_fn=_limit_file_size)
    _assert_clean(proc.returncode, proc.stdout, proc.stderr, expected=1)
    assert _errors(proc.stderr)[0].startswith(f"error: cannot write {tmp_path / 'out.mp4'}: ")
    video = tmp_path / "out.mp4"
    assert not video.exists() or decoded_frames(video) > 0  # finalised, or not there at all
    pngs = sorted((tmp_path / "depth").glob("*.png"))
    assert pngs and all(cv2.imread(str(p), cv2.IMREAD_UNCHANGED) is not None for p in pngs)
    assert [p for p in _files(tmp_path) if Path(p).name.startswith(".")] == []


# -- live sources that go silent: they end, they do not hang -----------------------------------
def test_a_stream_that_goes_silent_ends_the_run(tiny_onnx, tmp_path):
    with SilentCamera(frames=3) as camera:
        t0 = time.monotonic()
        proc = _cli(str(tiny_onnx), "-s", camera.url("user:s3cret@"), "--source-timeout", "1",
                    "--save-depth", str(tmp_path / "depth"), timeout=60)
    _assert_clean(proc.returncode, proc.stdout, proc.stderr, expected=1)
    assert "delivered no frame for 1 s" in _errors(proc.stderr)[0]
    assert "s3cret" not in proc.stdout + proc.stderr and time.monotonic() - t0 < 30
    pngs = sorted((tmp_path / "depth").glob("*.png"))
    assert 1 <= len(pngs) <= 3 and all(cv2.imread(str(p), cv2.IMREAD_UNCHANGED) is not None for p in pngs)


def test_a_stream_silent_from_the_start_does_not_open(tiny_onnx, tmp_path):
    with SilentCamera(frames=0) as camera:
        proc = _cli(str(tiny_onnx), "-s", camera.url("user:secret@"), "--source-timeout", "1",
                    "--save", str(tmp_path / "out.mp4"), timeout=60)
    _assert_clean(proc.returncode, proc.stdout, proc.stderr, expected=2)
    assert f"cannot open stream http://***@127.0.0.1:{camera.port}/video" in proc.stderr
    assert "secret" not in proc.stdout + proc.stderr and _files(tmp_path) == []


def test_overwrite_replaces_an_earlier_run(tiny_onnx, workspace, tmp_path):
    shutil.copytree(workspace / "earlier_depth", tmp_path / "depth")
    (tmp_path / "out.mp4").write_bytes(b"an earlier run's video")
    proc = _cli(str(tiny_onnx), "-s", str(workspace / "clip.mp4"), "--save", str(tmp_path / "out.mp4"),
                "--save-depth", str(tmp_path / "depth"), "--overwrite")
    _assert_clean(proc.returncode, proc.stdout, proc.stderr, expected=0, errors=0)
    assert decoded_frames(tmp_path / "out.mp4") == 8
    assert cv2.imread(str(tmp_path / "depth" / "000000.png"), cv2.IMREAD_UNCHANGED) is not None
