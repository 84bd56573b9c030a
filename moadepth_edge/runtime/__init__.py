"""Frames to depth on a device: backends, sources, pipeline, sinks. Imports no torch.

Submodules are imported on first use, so `import moadepth_edge.runtime` stays cheap.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DepthEstimator": "estimator",
    "Pipeline": "pipeline",
    "PipelineStats": "stats",
    "open_source": "sources",
    "load_backend": "backends",
    "select_backend": "backends",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
