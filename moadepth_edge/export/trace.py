"""Tracing a depth module to ONNX with PyTorch's exporters.

The TorchScript exporter (dynamo=False) is the default: fast (a fraction of a second for the
tiny preset), and LayerNorm stays one LayerNormalization node at opset >= 17. Images of any
height/width use the torch.export-based exporter instead, because the TorchScript tracer
bakes the token count into nn.MultiheadAttention's reshapes.
"""
from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Any, Iterator

from .._lazy import lazy_import
from ..formats.artifact import ModelArtifact


def trace_to_onnx(module: Any, artifact: ModelArtifact, path: Path, opset: int) -> None:
    """Write `module` (taking the artifact's input kind) to `path` with its dynamic axes."""
    torch = lazy_import("torch")
    shape = example_shape(artifact)
    name = artifact.input_name
    if artifact.input_kind == "frame":
        example = torch.randint(0, 256, shape, dtype=torch.uint8)
        axes = {0: "batch", 1: "height", 2: "width"}
    else:
        example = torch.rand(shape)
        axes = {0: "batch", 2: "height", 3: "width"} if artifact.dynamic_hw else {0: "batch"}
    out_axes = {0: "batch", 2: "out_height", 3: "out_width"} if artifact.dynamic_hw else {0: "batch"}
    if not artifact.dynamic_batch:
        axes.pop(0)
        out_axes.pop(0)
        example = example[:1]
    if artifact.dynamic_hw and artifact.input_kind == "image":
        _dynamo_export(torch, module, example, path, artifact, axes, opset)
        return
    with tracing():
        torch.onnx.export(
            module, (example,), str(path), dynamo=False, opset_version=opset,
            input_names=[name], output_names=[artifact.output_name],
            dynamic_axes={name: axes, artifact.output_name: out_axes} if axes or out_axes else None,
            do_constant_folding=True,
        )


def example_shape(artifact: ModelArtifact) -> tuple[int, ...]:
    """Trace shape. Dynamic H/W traces off the native grid so positional-embedding
    interpolation is recorded (at the native size it is the identity)."""
    h, w = artifact.preprocess.size
    if artifact.input_kind == "frame":
        return (2, h + 37, w + 53, 3)
    if artifact.dynamic_hw:
        return (2, 3, h + 32, w + 32)
    return (2, 3, h, w)


def _dynamo_export(torch: Any, module: Any, example: Any, path: Path, artifact: ModelArtifact,
                   axes: dict[int, str], opset: int) -> None:
    """torch.export-based exporter; H and W are multiples of the patch size."""
    patch = getattr(module.encoder, "patch", 32)
    dims = {}
    for axis, label in axes.items():
        if axis == 0:
            dims[axis] = torch.export.Dim(label, min=1, max=1024)
        else:
            dims[axis] = patch * torch.export.Dim(f"{label}_patches", min=1, max=256)
    with tracing():
        torch.onnx.export(module, (example,), str(path), dynamo=True, opset_version=max(opset, 18),
                          input_names=[artifact.input_name], output_names=[artifact.output_name],
                          dynamic_shapes={artifact.input_name: dims}, optimize=True, verbose=False)


@contextlib.contextmanager
def tracing() -> Iterator[None]:
    """no_grad, nn.MultiheadAttention's math path (its fused inference kernel has no ONNX
    symbolic) and no exporter chatter (deprecation notice, trace warnings on shape checks)."""
    torch = lazy_import("torch")
    enabled = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.filterwarnings("ignore", message=".*Converting a tensor to a Python.*")
            warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*")
            yield
    finally:
        torch.backends.mha.set_fastpath_enabled(enabled)
