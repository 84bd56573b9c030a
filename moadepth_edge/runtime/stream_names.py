"""Names of the streams of a multi-stream run: what their output files and folders are called
(`out_<name>.mp4`, `<dir>/<name>/`) and how the summary lists them."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence


def stream_name(spec: str | int, position: int) -> str:
    """A folder- and file-safe name: camN for a camera index, csiN for a Jetson sensor, the
    file or folder stem for files, streamK (its position) for URLs and GStreamer pipelines."""
    text = str(spec).strip()
    if isinstance(spec, int) or text.isdigit():
        return f"cam{int(text)}"
    if text.startswith("csi://"):
        return f"csi{text[len('csi://'):]}"
    if "://" in text or " ! " in text:
        return f"stream{position}"
    path = Path(text).expanduser()
    if any(ch in path.name for ch in "*?["):  # a glob: the folder it reads
        path = path.parent
    return re.sub(r"[^A-Za-z0-9._-]+", "_", path.resolve().stem).strip("._") or f"stream{position}"


def stream_names(specs: Sequence[str | int]) -> list[str]:
    """Names for `specs`, in order, made unique (a second `a` becomes `a_2`)."""
    names: list[str] = []
    for position, spec in enumerate(specs):
        base = name = stream_name(spec, position)
        k = 2
        while name in names:
            name, k = f"{base}_{k}", k + 1
        names.append(name)
    return names
