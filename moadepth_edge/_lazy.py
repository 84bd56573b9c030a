"""Lazy imports of heavy optional modules, with an install hint instead of a traceback."""
from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependency

# module -> the extra that provides it
_HINTS = {
    "torch": "train",
    "torchvision": "train",
    "open_clip": "train",
    "safetensors": "train",
    "tensorrt": "trt",
    "cuda": "trt",
    "pycuda": "trt",
    "h5py": "train",
    "matplotlib": "plots",
    "rosbags": "ros",
}


def lazy_import(name: str, extra: str | None = None) -> ModuleType:
    """Import `name` or raise MissingDependency naming the pip extra that installs it."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        root = name.split(".")[0]
        extra = extra or _HINTS.get(root)
        hint = f"pip install 'moadepth-edge[{extra}]'" if extra else f"pip install {root}"
        raise MissingDependency(f"{name} is not installed ({exc.msg}); install it with: {hint}") from None
