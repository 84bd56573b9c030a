"""A real network camera for tests: MJPEG over HTTP on 127.0.0.1 that goes silent.

The first connection gets the multipart header and `frames` JPEG parts, then nothing more
(the connection stays open, as a camera whose encoder hung). Later connections (reconnects)
get the header and nothing. `frames=0`: silent from the first connection on.
"""
from __future__ import annotations

import socket
import threading

import cv2
import numpy as np

_HEADER = b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\n\r\n"


def _part(index: int) -> bytes:
    image = np.full((48, 64, 3), (40 * index) % 256, np.uint8)
    jpeg = cv2.imencode(".jpg", image)[1].tobytes()
    return b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s\r\n" % (len(jpeg), jpeg)


class SilentCamera:
    """`with SilentCamera(frames=3) as cam: cam.url("user:pw@")` -> http://user:pw@127.0.0.1:PORT/video"""

    def __init__(self, frames: int = 3) -> None:
        self.frames = frames
        self.connections = 0
        self._done = threading.Event()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def url(self, user_info: str = "") -> str:
        return f"http://{user_info}127.0.0.1:{self.port}/video"

    def _accept(self) -> None:
        while not self._done.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections += 1
            first = self.connections == 1
            threading.Thread(target=self._serve, args=(conn, first), daemon=True).start()

    def _serve(self, conn: socket.socket, first: bool) -> None:
        with conn:
            try:
                conn.settimeout(5)
                conn.recv(4096)  # the request
                conn.sendall(_HEADER)
                if first:
                    for i in range(self.frames):
                        conn.sendall(_part(i))
                self._done.wait()  # then silence, the connection held open
            except OSError:
                pass

    def __enter__(self) -> "SilentCamera":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=2)
        self._sock.close()
