"""Credentials out of anything printed: `redact("rtsp://user:pass@cam/s")` -> "rtsp://***@cam/s".

A password may hold `/`, `@` or `:` (`rtsp://u:ab/cd@host/s`, `rtsp://u:p@ss@host/s`), which a
plain URL parser splits at the wrong place. The user info here ends at the LAST `@` of the URL,
so whatever is left shows no part of it; a path or query holding an `@` hides more than it
needs to, never less. A query parameter whose name says it holds a secret (`password=`,
`pwd=`, `token=`, `key=`, `secret=`, `auth=`, `sig=`...) keeps its name and loses its value. Used for every source description, log line, warning, summary and error
message of the runtime, and by bench for its reports. Torch-free, no dependencies.
"""
from __future__ import annotations

import re

__all__ = ["redact"]

# a URL starts at `scheme://`; inside free text it runs to the next whitespace or quote
_URL = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<rest>[^\s'\"<>]*)")
# a query parameter named like a secret, up to the next parameter or fragment
_SECRET_PARAM = re.compile(r"(?P<name>[?&;][^=&;#]*(?:pass|pwd|token|key|secret|auth|sig|cred|session)[^=&;#]*=)"
                           r"[^&;#]*", re.IGNORECASE)


def _hide_user_info(scheme: str, rest: str) -> str:
    rest = _SECRET_PARAM.sub(lambda m: m["name"] + "***", rest)  # first: its value may hold an `@`
    at = rest.rfind("@")
    return scheme + (f"***@{rest[at + 1:]}" if at >= 0 else rest)


def redact(text: object) -> str:
    """`text` with the user info (user, password) of every URL in it replaced by `***`.

    A text that is one URL as a whole (a `--source` value) is redacted up to its end, so a
    password holding a space or quote does not leak either."""
    text = str(text)
    whole = _URL.match(text.strip())
    if whole is not None and text.strip() == text and " ! " not in text:
        return _hide_user_info(whole["scheme"], text[whole.end("scheme"):])
    return _URL.sub(lambda m: _hide_user_info(m["scheme"], m["rest"]), text)
