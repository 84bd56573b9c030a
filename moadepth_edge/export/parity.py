"""Parity of an exported file with the PyTorch model it came from, run by ONNX Runtime.

Every export runs it before anything is written (export_onnx raises ParityError above the
tolerance). The reference is the model as trained (unfused), fed the same input.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .._lazy import lazy_import
from ..formats.artifact import ModelArtifact
from ..errors import UserError
from ..runtime.backends.onnxruntime import cpu_disabled_optimizers

# ORT vs PyTorch (fp32, unfused) on the same input; metric: see `parity_error`
TOLERANCE = {"fp32": 1e-4, "fp16": 2e-2, "int8": 5e-2}


class ParityError(UserError):
    """The exported graph does not compute the trained model's function within tolerance."""


def relative_error(actual: np.ndarray, reference: np.ndarray) -> float:
    """max |actual - reference| / max |reference| (0 when both are all-zero)."""
    actual, reference = np.asarray(actual, np.float64), np.asarray(reference, np.float64)
    if actual.shape != reference.shape:
        raise ValueError(f"shape {actual.shape} != reference shape {reference.shape}")
    scale = np.abs(reference).max()
    diff = np.abs(actual - reference).max()
    return float(diff / scale) if scale > 0 else float(diff)


def parity_error(actual: np.ndarray, reference: np.ndarray, precision: str) -> float:
    """fp32 / fp16: `relative_error` (worst pixel); int8: mean absolute relative error of the
    depth (AbsRel against the float model), since 8-bit activations move every pixel a bit."""
    if precision == "int8":
        ref = np.asarray(reference, np.float64)
        return float(np.mean(np.abs(np.asarray(actual, np.float64) - ref) / np.maximum(np.abs(ref), 1e-6)))
    return relative_error(actual, reference)


def check_parity(path: Path, reference: Any, artifact: ModelArtifact, batches: tuple[int, ...],
                 calib_inputs: list[np.ndarray]) -> float:
    """Worst parity error of the ONNX file at `path` against the PyTorch reference."""
    ort = lazy_import("onnxruntime")
    torch = lazy_import("torch")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = min(2, os.cpu_count() or 1)
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"],
                                   disabled_optimizers=cpu_disabled_optimizers(artifact.precision))
    worst = 0.0
    for x in _parity_inputs(artifact, batches, calib_inputs):
        (got,) = session.run([artifact.output_name], {artifact.input_name: x})
        with torch.no_grad():
            want = reference(torch.from_numpy(x)).numpy()
        worst = max(worst, parity_error(got, want, artifact.precision))
    return worst


def _parity_inputs(artifact: ModelArtifact, batches: tuple[int, ...],
                   calib_inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Real calibration images for INT8 (random inputs say little about 8-bit ranges), else
    seeded random inputs at each batch size (and at a second size when H/W are dynamic)."""
    if calib_inputs:
        return calib_inputs[:2]
    rng = np.random.default_rng(0)
    batches = tuple(sorted({b if artifact.dynamic_batch else 1 for b in batches}))
    h, w = artifact.preprocess.size
    sizes = [(h, w)] + ([(h + 64, w + 32)] if artifact.dynamic_hw else [])
    inputs = []
    for b in batches:
        for sh, sw in sizes:
            if artifact.input_kind == "frame":
                inputs.append(rng.integers(0, 256, (b, sh + 5, sw + 9, 3), dtype=np.uint8))
            else:
                inputs.append(rng.random((b, 3, sh, sw), dtype=np.float32))
    return inputs
