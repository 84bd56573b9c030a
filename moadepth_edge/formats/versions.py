"""Version strings (TensorRT, CUDA, the package) as comparable tuples."""
from __future__ import annotations

import re


def parse_version(text: str) -> tuple[int, ...]:
    """'10.3.0.26' -> (10, 3, 0, 26); the leading numeric components of any version string."""
    parts = re.match(r"^\s*(\d+(?:\.\d+)*)", str(text))
    if not parts:
        raise ValueError(f"not a version: {text!r}")
    return tuple(int(p) for p in parts.group(1).split("."))
