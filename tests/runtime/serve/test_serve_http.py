"""The live view's HTTP server with real clients on 127.0.0.1: endpoints, several MJPEG viewers
at once, one that never reads, one that leaves, tokens, limits and shutdown."""
from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import cv2
import numpy as np
import pytest

from moadepth_edge.errors import UserError
from moadepth_edge.runtime.serve import LiveView, ServeAddress, ViewServer, parse_serve
from moadepth_edge.runtime.serve.server import BOUNDARY
from moadepth_edge.runtime.result import Result

LOCAL = ServeAddress("127.0.0.1", 0)


def _result(i: int, size=(48, 64), noise: bool = False) -> Result:
    h, w = size
    rng = np.random.default_rng(i)
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8) if noise else np.full((h, w, 3), (i * 9) % 256, np.uint8)
    depth = np.tile(np.linspace(0.5, 4.0, w, dtype=np.float32), (h, 1)) + 0.01 * i
    return Result(i, image, depth, latency_s=0.04, fps=25.0)


def _get(server: ViewServer, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


class _Publisher:
    """Publishes a new frame every `period` seconds until stopped; records publish() times."""

    def __init__(self, view: LiveView, period: float = 0.02, **kwargs) -> None:
        self.view, self.period, self.kwargs = view, period, kwargs
        self.stop = threading.Event()
        self.durations: list[float] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        while not self.stop.is_set():
            result = _result(i, **self.kwargs)
            t0 = time.perf_counter()
            self.view.publish(result)
            self.durations.append(time.perf_counter() - t0)
            i += 1
            time.sleep(self.period)

    def __enter__(self) -> "_Publisher":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def _read_parts(port: int, count: int, path: str = "/stream.mjpg", timeout: float = 10.0) -> list[bytes]:
    """The first `count` JPEG parts of an MJPEG stream, read as a browser would."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("GET", path)
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("Content-Type") == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
    parts = []
    while len(parts) < count:
        assert resp.fp.readline().strip() == f"--{BOUNDARY}".encode()
        headers = {}
        while (line := resp.fp.readline().strip()):
            key, _, value = line.decode().partition(":")
            headers[key.lower()] = value.strip()
        assert headers["content-type"] == "image/jpeg"
        parts.append(resp.fp.read(int(headers["content-length"])))
        assert resp.fp.readline() == b"\r\n"
    resp.close()  # (the response holds the socket open past conn.close())
    conn.close()
    return parts


def test_endpoints_before_and_after_the_first_frame():
    with ViewServer(LOCAL, LiveView(label="tiny.onnx onnxruntime")) as server:
        status, _, body = _get(server, "/stats.json")
        assert status == 200 and json.loads(body)["frames"] == 0
        assert _get(server, "/frame.jpg")[0] == 503 and _get(server, "/depth.png")[0] == 503
        result = _result(3)
        server.view.publish(result)
        status, headers, body = _get(server, "/frame.jpg")
        assert status == 200 and headers["Content-Type"] == "image/jpeg"
        frame = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
        assert frame.shape[0] == 48 and frame.shape[1] > 2 * 64  # frame | depth + legend
        status, headers, body = _get(server, "/depth.png")
        depth = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_UNCHANGED)
        assert status == 200 and depth.dtype == np.uint16
        np.testing.assert_array_equal(depth, np.rint(result.depth * 1000).astype(np.uint16))
        stats = json.loads(_get(server, "/stats.json")[2])
        assert (stats["frames"], stats["latency_ms"], stats["width"], stats["height"]) == (1, 40.0, 64, 48)
        status, headers, body = _get(server, "/")
        assert status == 200 and b'src="stream.mjpg"' in body and b"tiny.onnx onnxruntime" in body
        assert headers["Cache-Control"] == "no-store"
        assert _get(server, "/nope")[0] == 404


def test_several_viewers_get_new_frames_and_publishing_never_waits():
    with ViewServer(LOCAL) as server, _Publisher(server.view) as publisher:
        results: dict[int, list[bytes]] = {}
        threads = [threading.Thread(target=lambda k=k: results.__setitem__(k, _read_parts(server.port, 8)))
                   for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert sorted(results) == [0, 1, 2, 3]
        for parts in results.values():
            assert len(set(parts)) == 8  # eight different frames each, no repeats
            assert cv2.imdecode(np.frombuffer(parts[-1], np.uint8), cv2.IMREAD_COLOR) is not None
    assert max(publisher.durations) < 0.05


def test_viewers_share_encodings_at_most_max_fps():
    with ViewServer(LOCAL, LiveView(max_fps=10.0)) as server, _Publisher(server.view, period=0.005):
        results: dict[int, list[bytes]] = {}
        t0 = time.monotonic()
        threads = [threading.Thread(target=lambda k=k: results.__setitem__(k, _read_parts(server.port, 10)))
                   for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        elapsed = time.monotonic() - t0
        encoded = {part for parts in results.values() for part in parts}
        assert len(encoded) <= 10 * elapsed + 2  # three viewers, one encoding per 0.1 s
        assert elapsed >= 0.8  # ten new frames each take at least nine intervals
        stats = json.loads(_get(server, "/stats.json")[2])
        assert stats["fps"] > 50  # the run's output rate, not the view's


def test_stream_pictures_are_at_most_max_width_and_frame_jpg_is_full_size():
    with ViewServer(LOCAL, LiveView(max_width=200)) as server, _Publisher(server.view, size=(240, 320)):
        stream = cv2.imdecode(np.frombuffer(_read_parts(server.port, 1)[0], np.uint8), cv2.IMREAD_COLOR)
        assert stream.shape[1] == 200 and stream.shape[0] == round(240 * (200 - 64) / 640)
        full = cv2.imdecode(np.frombuffer(_get(server, "/frame.jpg")[2], np.uint8), cv2.IMREAD_COLOR)
        assert full.shape[:2] == (240, 2 * 320 + 64)


def test_a_viewer_that_never_reads_is_dropped_without_slowing_anyone(tmp_path):
    with ViewServer(LOCAL, send_timeout_s=1.0, send_buffer=32 * 1024) as server, \
            _Publisher(server.view, period=0.02, size=(240, 320), noise=True) as publisher:
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", server.port))
        stalled.sendall(b"GET /stream.mjpg HTTP/1.0\r\n\r\n")  # and never read
        t0 = time.monotonic()
        parts = _read_parts(server.port, 25)  # another viewer, meanwhile
        assert time.monotonic() - t0 < 10
        assert len(set(parts)) == 25
        deadline = time.monotonic() + 10
        while (server.view.dropped_viewers == 0 or server.view.viewers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.view.dropped_viewers == 1 and server.view.viewers == 0
        stalled.close()
    assert max(publisher.durations) < 0.05


def test_a_viewer_that_leaves_mid_stream_frees_its_place():
    with ViewServer(LOCAL, max_viewers=1) as server, _Publisher(server.view):
        viewer = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        viewer.sendall(b"GET /stream.mjpg HTTP/1.0\r\n\r\n")
        assert viewer.recv(300)
        assert _get(server, "/stream.mjpg")[0] == 503  # the only place is taken
        viewer.close()  # mid-part
        deadline = time.monotonic() + 10
        while server.view.viewers and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.view.viewers == 0 and server.view.dropped_viewers == 0
        assert len(_read_parts(server.port, 2)) == 2


def test_token_is_required_on_every_request_and_never_echoed():
    token = "s3cret-Token_42"
    with ViewServer(LOCAL, token=token) as server:
        server.view.publish(_result(1))
        for path in ("/", "/stream.mjpg", "/frame.jpg", "/depth.png", "/stats.json"):
            status, headers, body = _get(server, path)
            assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer") and token.encode() not in body
            status, _, body = _get(server, f"{path}?token=wrong")
            assert status == 403 and token.encode() not in body and b"wrong" in body
        assert _get(server, f"/frame.jpg?token={token}")[0] == 200
        assert _get(server, "/stats.json", {"Authorization": f"Bearer {token}"})[0] == 200
        assert _get(server, f"/frame.jpg?token={token}x")[0] == 403
        status, _, page = _get(server, f"/?token={token}")
        assert status == 200 and f'src="stream.mjpg?token={token}"'.encode() in page
        assert len(_read_parts(server.port, 1, f"/stream.mjpg?token={token}")) == 1


def test_a_token_with_plus_and_slash_works_as_typed_or_encoded():
    token = "a+b/c="
    with ViewServer(LOCAL, token=token) as server:
        assert _get(server, f"/stats.json?token={token}")[0] == 200  # typed into the address bar
        assert _get(server, "/stats.json?token=a%2Bb%2Fc%3D")[0] == 200  # as the page links it
        assert _get(server, "/stats.json?token=a b/c=".replace(" ", "%20"))[0] == 403


def test_close_ends_streams_and_stops_listening():
    server = ViewServer(LOCAL)
    port = server.port
    with _Publisher(server.view):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/stream.mjpg")
        resp = conn.getresponse()
        resp.fp.read(100)
        t0 = time.monotonic()
        server.close()
        assert time.monotonic() - t0 < 3
        while resp.fp.read(65536):  # the stream ends rather than hanging
            pass
        conn.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)


def test_a_flood_of_connections_past_the_cap_leaves_the_server_answering_and_closable():
    """Connections past max_connections are closed at once; the server still answers once they
    are gone, and closes promptly (the one over the cap used to deadlock its accept loop)."""
    server = ViewServer(LOCAL, max_connections=4)
    try:
        flood = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(6)]
        time.sleep(0.3)
        for sock in flood:
            sock.close()
        time.sleep(0.3)
        assert _get(server, "/stats.json")[0] == 200
    finally:
        closer = threading.Thread(target=server.close, daemon=True)  # a deadlock fails, not hangs, the test
        closer.start()
        closer.join(timeout=5)
        assert not closer.is_alive()


def test_port_in_use_and_foreign_address_are_user_errors():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        with pytest.raises(UserError, match=f"port {holder.getsockname()[1]} is already in use"):
            ViewServer(ServeAddress("127.0.0.1", holder.getsockname()[1]))
    finally:
        holder.close()
    with pytest.raises(UserError, match="192.0.2.1 is not an address of this machine"):
        ViewServer(ServeAddress("192.0.2.1", 0))


@pytest.mark.parametrize("text, host, port", [
    ("8080", "127.0.0.1", 8080), ("0.0.0.0:8080", "0.0.0.0", 8080), ("localhost:0", "localhost", 0),
    ("[::1]:9000", "::1", 9000), (" 7000 ", "127.0.0.1", 7000)])
def test_parse_serve(text, host, port):
    assert parse_serve(text) == ServeAddress(host, port)


@pytest.mark.parametrize("text", ["", "http://x:80", "70000", "host:", ":80", "::1:80", "a:b"])
def test_parse_serve_rejects(text):
    with pytest.raises(UserError):
        parse_serve(text)
