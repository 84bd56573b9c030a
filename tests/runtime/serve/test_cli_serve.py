"""`run ... --serve`: the live view while a real run goes on, stopped with it; its mistakes
(port in use, bad address, token without --serve) are one line before the model loads."""
from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import pytest

from moadepth_edge.cli.main import main

REPO = Path(__file__).resolve().parents[3]
TOKEN = "Zq7-live-view-key"


@pytest.fixture(scope="module")
def long_video(clip, tmp_path_factory) -> Path:
    """The clip repeated to 1500 frames: a run of seconds even on a fast machine."""
    cap = cv2.VideoCapture(str(clip.video))
    frames = []
    while (item := cap.read())[0]:
        frames.append(item[1])
    path = tmp_path_factory.mktemp("long") / "long.mp4"
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 15.0, (w, h))
    for i in range(1500):
        writer.write(frames[i % len(frames)])
    writer.release()
    return path


def _get_json(port: int, path: str) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    data = json.loads(conn.getresponse().read())
    conn.close()
    return data


def _watch(port: int, frames: list) -> None:
    """A viewer: counts the JPEG parts of the stream until the run ends it."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(f"GET /stream.mjpg?token={TOKEN} HTTP/1.0\r\n\r\n".encode())
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    frames.append(data.count(b"Content-Type: image/jpeg"))


def test_live_view_serves_during_the_run_and_stops_with_it(tiny_onnx, long_video):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "moadepth_edge", "run", str(tiny_onnx), "--source", str(long_video),
                             "--headless", "--threads", "1", "--serve", "127.0.0.1:0", "--serve-token", TOKEN,
                             "--serve-fps", "60"],
                            stderr=subprocess.PIPE, text=True, env=env)
    first = proc.stderr.readline()
    match = re.match(r"live view: http://127\.0\.0\.1:(\d+)/; every request needs the --serve-token", first)
    assert match, first
    port = int(match.group(1))
    viewed: list[int] = []
    viewers = [threading.Thread(target=_watch, args=(port, viewed)) for _ in range(2)]
    for v in viewers:
        v.start()
    deadline = time.monotonic() + 60
    while _get_json(port, f"/stats.json?token={TOKEN}")["frames"] < 10 and time.monotonic() < deadline:
        time.sleep(0.1)
    stats = _get_json(port, f"/stats.json?token={TOKEN}")
    assert stats["frames"] >= 10 and stats["width"] == 128 and stats["viewers"] == 2
    rest = proc.stderr.read()
    assert proc.wait(timeout=120) == 0, rest
    for v in viewers:
        v.join(timeout=10)
    # both streams got a moving picture, then ended with the run; the count follows the machine's
    # speed (1,490 frames after the check at 60 pictures a second), so ask only for a few
    assert len(viewed) == 2 and min(viewed) >= 3
    assert "end of input: 1500 frames" in rest and TOKEN not in first + rest
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)


def test_the_token_can_come_from_the_environment_out_of_the_process_list(tiny_onnx, long_video):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "MOADEPTH_SERVE_TOKEN": TOKEN}
    proc = subprocess.Popen([sys.executable, "-m", "moadepth_edge", "run", str(tiny_onnx), "--source", str(long_video),
                             "--headless", "--threads", "1", "--serve", "127.0.0.1:0"],
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = proc.stderr.readline()
        match = re.match(r"live view: http://127\.0\.0\.1:(\d+)/; every request needs the --serve-token", first)
        assert match, first
        conn = http.client.HTTPConnection("127.0.0.1", int(match.group(1)), timeout=10)
        conn.request("GET", "/stats.json")
        assert conn.getresponse().status == 401
        conn.close()
        assert "frames" in _get_json(int(match.group(1)), f"/stats.json?token={TOKEN}")
        assert TOKEN not in " ".join(proc.args)
    finally:
        proc.terminate()
        rest = proc.communicate(timeout=60)[1]
    assert proc.returncode in (0, 143) and TOKEN not in first + rest


def test_port_in_use_is_one_line_before_the_model_loads(tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.run([sys.executable, "-m", "moadepth_edge", "run", str(tmp_path / "missing.onnx"),
                               "--source", "x.mp4", "--serve", f"127.0.0.1:{port}"],
                              capture_output=True, text=True, env=env, timeout=120)
    finally:
        holder.close()
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: --serve 127.0.0.1:{port}: port {port} is already in use; choose another port"]


@pytest.mark.parametrize("args, message", [
    (["--serve", "99999"], "--serve takes [HOST:]PORT with PORT 0..65535"),
    (["--serve-token", "abc"], "--serve-token protects the live view; add --serve"),
    (["--serve", "0", "--serve-token", "has space"], "--serve-token must be 1-256 characters"),
    (["--serve-fps", "5"], "--serve-fps sets the live view's frame rate; add --serve"),
    (["--serve", "0", "--serve-fps", "0"], "--serve-fps"),
])
def test_serve_mistakes_are_one_line(tiny_onnx, clip, capsys, args, message):
    assert main(["run", str(tiny_onnx), "--source", str(clip.video), "--headless", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("error:") == 1 and "has space" not in err
