"""The one protocol every inference backend follows (one file per backend beside this one).

`load(path, **opts)` -> backend; `infer(batch) -> depth`; `artifact` (the model's metadata,
preprocessing included); `close()`. `infer` checks its input the same way for every backend,
so a wrong shape or dtype is one clear line, never a library stack trace.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ...formats.artifact import ModelArtifact
from ...errors import UserError


class Backend(ABC):
    """Base class: subclasses set `name`, `suffixes`, implement `available`, `_open`, `_infer`."""

    name: ClassVar[str] = ""
    suffixes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, path: Path, artifact: ModelArtifact) -> None:
        self.path = path
        self.artifact = artifact
        self._closed = False

    # -- construction -------------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def available(cls) -> bool:
        """True when the libraries this backend needs import (cheap; no model is loaded)."""

    @classmethod
    def load(cls, path: str | Path, **opts: Any) -> "Backend":
        """Open a model file for inference; raises UserError for a missing or unusable file."""
        path = Path(path)
        cls.inspect(path)
        return cls._open(path, **opts)

    @classmethod
    def inspect(cls, path: Path) -> None:
        """Check what can be checked of `path` without the backend's library (exists, not
        empty, a readable header); UserError naming the problem. Runs even where the library
        is missing, so a corrupt file is reported as corrupt, not as a missing install."""
        if not path.exists():
            raise UserError(f"model not found: {path}")
        if path.is_file() and path.stat().st_size == 0:
            raise UserError(f"{path} is an empty file (0 bytes): re-export or copy it again")

    @classmethod
    @abstractmethod
    def _open(cls, path: Path, **opts: Any) -> "Backend":
        ...

    # -- inference ----------------------------------------------------------------------------
    @property
    def input_dtype(self) -> np.dtype:
        return np.dtype(np.uint8 if self.artifact.input_kind == "frame" else np.float32)

    def expected_shape(self) -> tuple[int | None, ...]:
        """Input shape with None for dynamic dimensions."""
        return self.artifact.input_shape()

    @property
    def max_batch(self) -> int | None:
        """The most frames one `infer` call takes: the input's fixed batch size, None when the
        batch is dynamic without a limit (an engine's optimisation profile sets one)."""
        return self.expected_shape()[0]

    def check_input(self, batch: np.ndarray) -> np.ndarray:
        """Validate dtype and shape against the model's contract; returns a contiguous array."""
        if self._closed:
            raise UserError(f"{self.name} backend is closed")
        if not isinstance(batch, np.ndarray):
            raise UserError(f"input must be a numpy array, got {type(batch).__name__}")
        if batch.dtype != self.input_dtype:
            raise UserError(f"input dtype {batch.dtype} does not match the model's {self.input_dtype}")
        expected = self.expected_shape()
        if batch.ndim != len(expected) or any(
            e is not None and s != e for s, e in zip(batch.shape, expected)
        ):
            shown = tuple("?" if e is None else e for e in expected)
            raise UserError(f"input shape {tuple(batch.shape)} does not match the model's {shown}")
        return np.ascontiguousarray(batch)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """Depth in metres, float32 [N, 1, H, W], for a batch that matches `expected_shape()`."""
        return self._infer(self.check_input(batch))

    @abstractmethod
    def _infer(self, batch: np.ndarray) -> np.ndarray:
        ...

    # -- lifetime -----------------------------------------------------------------------------
    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> "Backend":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
