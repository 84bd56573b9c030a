"""The live view's HTTP server: `/` (the page), `/stream.mjpg` (multipart MJPEG), `/frame.jpg`
(newest frame | depth), `/depth.png` (newest depth, uint16 mm) and `/stats.json`.

One thread per connection (http.server). A viewer never slows the run: each stream sends the
newest frame whenever its socket takes one, and a viewer that stops reading is dropped once a
frame has waited `send_timeout_s` to be sent. With a token every request must carry it, as
`?token=` or `Authorization: Bearer`; a missing one is 401, a wrong one 403, and neither the
token nor any request line is ever printed. The socket is bound when the server is made (so
a port in use is a UserError before the model loads) and serving starts at once.
"""
from __future__ import annotations

import errno
import hmac
import json
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from ...errors import UserError
from .address import ServeAddress
from .page import page
from .view import LiveView

BOUNDARY = "moadepth-frame"


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 16

    def __init__(self, owner: ViewServer, address: ServeAddress) -> None:
        self.owner = owner
        self.address_family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
        super().__init__((address.host, address.port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer's own looks the host name up in DNS (socket.getfqdn), which can hang
        # for seconds on a robot without a name server; the name is not needed here
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        owner = self.owner
        with owner.lock:
            full = len(owner.connections) >= owner.max_connections
            if not full:
                owner.connections.add(request)
        if full:  # a flood of idle connections costs no thread (closed outside the lock it takes)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.owner.lock:
            self.owner.connections.discard(request)
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.0"
    server_version = "moadepth-edge"
    sys_version = ""
    timeout = 10.0  # to send the request: a client that connects and says nothing is let go

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silent: request lines can carry the token."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        owner = self.server.owner
        url = urlsplit(self.path)
        if not self._authorised(owner, url.query):
            return
        routes = {"/": self._page, "/index.html": self._page, "/stream.mjpg": self._stream,
                  "/frame.jpg": self._frame, "/depth.png": self._depth, "/stats.json": self._stats}
        handler = routes.get(url.path)
        if handler is None:
            self._send(404, b"not found\n", "text/plain")
        else:
            handler(owner)

    # -- access -------------------------------------------------------------------------------
    def _authorised(self, owner: ViewServer, query: str) -> bool:
        if owner.token is None:
            return True
        # a token holds no spaces: a `+` typed into the address bar is the token's own `+`
        given = parse_qs(query.replace("+", "%2B")).get("token", [None])[0]
        auth = self.headers.get("Authorization", "")
        if given is None and auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if given is None:
            self._send(401, b"this live view needs its token: add ?token=...\n", "text/plain",
                       {"WWW-Authenticate": 'Bearer realm="moadepth-edge"'})
            return False
        if not hmac.compare_digest(given.encode("utf-8"), owner.token.encode("utf-8")):
            self._send(403, b"wrong token\n", "text/plain")
            return False
        return True

    # -- endpoints ----------------------------------------------------------------------------
    def _page(self, owner: ViewServer) -> None:
        query = f"?token={quote(owner.token, safe='')}" if owner.token is not None else ""
        self._send(200, page(owner.view.label, query), "text/html; charset=utf-8")

    def _frame(self, owner: ViewServer) -> None:
        item = owner.view.jpeg(owner.view.seq - 1, 0, full=True)  # the newest frame, full size
        if item is None:
            self._send(503, b"no frame yet\n", "text/plain", {"Retry-After": "1"})
        else:
            self._send(200, item[1], "image/jpeg")

    def _depth(self, owner: ViewServer) -> None:
        data = owner.view.depth_png()
        if data is None:
            self._send(503, b"no frame yet\n", "text/plain", {"Retry-After": "1"})
        else:
            self._send(200, data, "image/png")

    def _stats(self, owner: ViewServer) -> None:
        self._send(200, json.dumps(owner.view.stats()).encode("utf-8"), "application/json")

    def _stream(self, owner: ViewServer) -> None:
        view = owner.view
        if not owner.stream_slots.acquire(blocking=False):
            self._send(503, b"too many viewers\n", "text/plain", {"Retry-After": "5"})
            return
        with owner.lock:
            view.viewers += 1
        stalled = False
        try:
            self.send_response(200)
            self._common_headers(f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.end_headers()
            self.connection.settimeout(owner.send_timeout_s)
            if owner.send_buffer:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, owner.send_buffer)
            seq = 0
            while not view.closed:
                item = view.jpeg(seq, timeout=0.5)
                if item is None:
                    continue
                seq, data = item
                self.wfile.write(b"--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                                 % (BOUNDARY.encode(), len(data)) + data + b"\r\n")
        except TimeoutError:  # the viewer stopped reading: drop it, never wait for it
            stalled = True
        except OSError:  # the viewer left (closed the tab, lost the network)
            pass
        finally:
            with owner.lock:
                view.viewers -= 1
                view.dropped_viewers += int(stalled)
            owner.stream_slots.release()
            self.close_connection = True

    # -- helpers ------------------------------------------------------------------------------
    def _common_headers(self, content_type: str) -> None:
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Connection", "close")

    def _send(self, code: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(code)
            self._common_headers(content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client left before the answer
            self.close_connection = True


def _bind_error(address: ServeAddress, exc: OSError) -> UserError:
    where = f"{address.host}:{address.port}"
    if isinstance(exc, socket.gaierror):
        return UserError(f"--serve {where}: unknown host {address.host!r}")
    if exc.errno == errno.EADDRINUSE:
        return UserError(f"--serve {where}: port {address.port} is already in use; choose another port")
    if exc.errno == errno.EADDRNOTAVAIL:
        return UserError(f"--serve {where}: {address.host} is not an address of this machine")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return UserError(f"--serve {where}: no permission to listen on port {address.port} "
                         "(ports below 1024 need root)")
    return UserError(f"--serve {where}: cannot listen ({exc.strerror or exc})")


class ViewServer:
    """Binds `address` and serves `view` on a background thread until `close()`.

    `token`: required on every request when set. `max_viewers`: concurrent MJPEG streams (more
    get 503). `send_timeout_s`: a stream frame not taken by the viewer in this time drops it.
    `send_buffer`: the kernel send buffer of a stream (bytes), bounding what a stalled viewer
    holds; None keeps the system's default.
    """

    def __init__(self, address: ServeAddress, view: LiveView | None = None, token: str | None = None,
                 max_viewers: int = 8, send_timeout_s: float = 5.0, send_buffer: int | None = 256 * 1024,
                 max_connections: int = 32) -> None:
        self.address = address
        self.view = view or LiveView()
        self.token = token
        self.send_timeout_s = send_timeout_s
        self.send_buffer = send_buffer
        self.max_connections = max_connections
        self.stream_slots = threading.BoundedSemaphore(max_viewers)
        self.lock = threading.Lock()
        self.connections: set[Any] = set()
        try:
            self.httpd = _HTTPServer(self, address)
        except OSError as exc:
            raise _bind_error(address, exc) from None
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="moadepth-live-view", daemon=True)
        self._thread.start()
        self._closed = False

    @property
    def url(self) -> str:
        """The page's address (without the token)."""
        return self.address.url(self.port)

    def close(self) -> None:
        """Stop serving: end every stream, close every connection and the listening socket."""
        if self._closed:
            return
        self._closed = True
        self.view.close()
        self.httpd.shutdown()
        self.httpd.server_close()
        with self.lock:
            stalled = list(self.connections)
        for conn in stalled:  # wakes a stream blocked on a viewer that stopped reading
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5.0)

    def __enter__(self) -> ViewServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
