"""The `--serve [HOST:]PORT` value: loopback unless a host is given."""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import UserError

DEFAULT_HOST = "127.0.0.1"


@dataclass(frozen=True)
class ServeAddress:
    """Where the live view listens. Port 0 picks a free port."""

    host: str
    port: int

    @property
    def loopback(self) -> bool:
        return self.host in ("127.0.0.1", "localhost", "::1") or self.host.startswith("127.")

    def url(self, port: int | None = None) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.host in ("0.0.0.0", "::"):
            host = "<this-device>"
        return f"http://{host}:{self.port if port is None else port}/"


def parse_serve(text: str) -> ServeAddress:
    """`8080`, `0.0.0.0:8080`, `localhost:8080`, `[::1]:8080` or `[::]:8080` -> ServeAddress."""
    value = text.strip()
    host, sep, port_text = value.rpartition(":")
    if not sep:
        host, port_text = DEFAULT_HOST, value
    elif host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise UserError(f"--serve {text!r}: write an IPv6 host in brackets, e.g. [::1]:8080")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise UserError(f"--serve takes [HOST:]PORT with PORT 0..65535, got {text!r}")
    if not host:
        raise UserError(f"--serve {text!r}: the host before ':' is empty")
    return ServeAddress(host, int(port_text))
