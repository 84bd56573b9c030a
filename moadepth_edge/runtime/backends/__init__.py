"""Backend registry: pick the backend for a model file by its suffix and what is installed.

    .onnx              -> onnxruntime
    .engine / .plan    -> tensorrt
    a checkpoint folder -> torch (debugging and comparison)

Backend modules import their heavy libraries inside methods, so importing this registry (or a
backend module) never pulls in torch, tensorrt or CUDA.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from ...errors import UserError
from .base import Backend

# name -> "module:Class", in the order tried when a suffix is shared
_REGISTRY: dict[str, str] = {
    "onnxruntime": "moadepth_edge.runtime.backends.onnxruntime:OnnxRuntimeBackend",
    "tensorrt": "moadepth_edge.runtime.backends.tensorrt:TensorRTBackend",
    "torch": "moadepth_edge.runtime.backends.torch:TorchBackend",
}
_FOLDER_BACKEND = "torch"

__all__ = ["Backend", "backend_names", "backend_class", "select_backend", "load_backend"]


def backend_names() -> tuple[str, ...]:
    """Every backend the registry knows (installed or not)."""
    return tuple(_REGISTRY)


def backend_class(name: str) -> type[Backend]:
    """The Backend subclass registered as `name` (its module is imported, its library is not)."""
    if name not in _REGISTRY:
        raise UserError(f"unknown backend {name!r}; choose one of: {', '.join(_REGISTRY)}")
    module_name, cls_name = _REGISTRY[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:  # this package ships without that backend
            raise UserError(f"the {name} backend is not part of this installation") from None
        raise
    return getattr(module, cls_name)


def select_backend(path: str | Path, name: str | None = None) -> type[Backend]:
    """The backend class for `path`: `name` when given, else by suffix and availability."""
    path = Path(path)
    if name is not None:
        cls = backend_class(name)
        if not cls.available():
            if path.is_file() and path.suffix.lower() in cls.suffixes:
                cls.inspect(path)
            raise UserError(f"backend {name!r} is not available here: {_missing_hint(cls)}")
        return cls
    if path.is_dir():
        candidates = [_FOLDER_BACKEND]
    else:
        suffix = path.suffix.lower()
        candidates = [n for n in _REGISTRY if suffix in _suffixes(n)]
    if not candidates:
        known = sorted({s for n in _REGISTRY for s in _suffixes(n)})
        raise UserError(
            f"cannot tell which backend runs {path.name!r}: expected a checkpoint folder or "
            f"one of {', '.join(known)} (or pass --backend)"
        )
    for cand in candidates:
        cls = backend_class(cand)
        if cls.available():
            return cls
    cls = backend_class(candidates[0])
    if path.exists():
        cls.inspect(path)  # a corrupt file is reported as such, not as a missing library
    raise UserError(f"{path.name} needs the {cls.name} backend, which is not available: {_missing_hint(cls)}")


def load_backend(path: str | Path, name: str | None = None, **opts: Any) -> Backend:
    """Select and load a backend for `path`; `opts` go to that backend's `load`."""
    return select_backend(path, name).load(path, **opts)


def _suffixes(name: str) -> tuple[str, ...]:
    try:
        return backend_class(name).suffixes
    except UserError:
        return ()


def _missing_hint(cls: type[Backend]) -> str:
    hint = getattr(cls, "install_hint", "")
    return hint or "its library is not installed"
