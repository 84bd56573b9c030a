"""PyTorch backend: run a checkpoint folder directly, for debugging and comparing exports.

torch is imported inside methods only, so the registry can list this backend on a device
that has no torch; `available()` is then False.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ...formats.artifact import ModelArtifact
from ...errors import UserError
from .base import Backend


class TorchBackend(Backend):
    """A checkpoint folder (model.safetensors + config.json) run eagerly by PyTorch."""

    name: ClassVar[str] = "torch"
    suffixes: ClassVar[tuple[str, ...]] = ()  # a folder, not a file suffix
    install_hint: ClassVar[str] = "pip install 'moadepth-edge[train]'"

    def __init__(self, path: Path, artifact: ModelArtifact, model: Any, device: str) -> None:
        super().__init__(path, artifact)
        self.model = model
        self.device = device

    @classmethod
    def available(cls) -> bool:
        try:
            return importlib.util.find_spec("torch") is not None
        except ValueError:  # sys.modules["torch"] is None: torch deliberately blocked
            return False

    @classmethod
    def _open(cls, path: Path, device: str = "cpu", **unused: Any) -> "TorchBackend":
        """Load the checkpoint folder `path` onto `device` ("cpu", "cuda", "cuda:1")."""
        if unused:
            raise UserError(f"unknown torch option(s): {', '.join(sorted(unused))}")
        if not path.is_dir():
            raise UserError(f"the torch backend runs a checkpoint folder; {path} is a file")
        from ..._lazy import lazy_import

        torch = lazy_import("torch")
        from ...model.checkpoint import checkpoint_sha256, load_checkpoint

        model = load_checkpoint(path).to(torch.device(device)).eval()
        cfg = model.cfg
        artifact = ModelArtifact(
            model_cfg=cfg,
            input_kind="image",
            checkpoint_sha256=checkpoint_sha256(path),
            dynamic_batch=True,
            dynamic_hw=False,
        )
        return cls(path, artifact, model, device)

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(batch).to(self.device)
            depth = self.model(x)
        return depth.float().cpu().numpy()

    def close(self) -> None:
        self.model = None
        super().close()
