"""`export_onnx`: a trained model -> one fused, checked ONNX file carrying its ModelArtifact.

Steps: fold (fuse.py) -> torch.onnx.export (TorchScript exporter: LayerNorm stays one
LayerNormalization node at opset >= 17) -> metadata, shape inference, `onnx.checker` full
check, optional simplification -> FP16 / INT8 conversion -> ONNX Runtime vs PyTorch parity.
Everything is written to a temporary file beside `out_path` and renamed only when the parity
check passes, so a failed export leaves nothing behind.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np

from .. import __version__
from .._lazy import lazy_import
from ..artifact import ModelArtifact
from ..config import PRESETS, get_preset
from ..errors import UserError
from .graph import inline_identity_initializers

Precision = Literal["fp32", "fp16", "int8"]
# ORT vs PyTorch (fp32, unfused) on the same input; metric: see `parity_error`
TOLERANCE = {"fp32": 1e-4, "fp16": 2e-2, "int8": 5e-2}
MIN_OPSET = 17


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


def parity_error(actual: np.ndarray, reference: np.ndarray, precision: Precision) -> float:
    """fp32 / fp16: `relative_error` (worst pixel); int8: mean absolute relative error of the
    depth (AbsRel against the float model), since 8-bit activations move every pixel a bit."""
    if precision == "int8":
        ref = np.asarray(reference, np.float64)
        return float(np.mean(np.abs(np.asarray(actual, np.float64) - ref) / np.maximum(np.abs(ref), 1e-6)))
    return relative_error(actual, reference)


def load_model(target: Any) -> tuple[Any, str, str]:
    """(eval-mode model, checkpoint sha256 or "", source) for a module, checkpoint folder or preset."""
    torch = lazy_import("torch")
    if isinstance(target, torch.nn.Module):
        return target.eval(), "", "module"
    from ..model.checkpoint import checkpoint_sha256, load_checkpoint

    path = Path(target)
    if path.is_dir():
        return load_checkpoint(path), checkpoint_sha256(path), str(path)
    if str(target) in PRESETS:
        from ..model import build_model

        return build_model(get_preset(str(target)), pretrained=False), "", f"preset:{target} (random weights)"
    raise UserError(f"{target!s} is neither a checkpoint folder nor a preset "
                    f"({', '.join(sorted(PRESETS))})")


def export_onnx(
    model_or_checkpoint: Any,
    out_path: str | Path,
    *,
    precision: Precision = "fp32",
    dynamic_batch: bool = True,
    dynamic_hw: bool = False,
    embed_preprocess: bool = False,
    opset: int = MIN_OPSET,
    simplify: bool = False,
    fuse: bool = True,
    calib: str | None = None,
    calib_method: str = "minmax",
    calib_batch_size: int = 8,
    calib_max_images: int = 64,
    int8_activations: Literal["symmetric", "asymmetric"] = "symmetric",
    tolerance: float | None = None,
    parity_batches: tuple[int, ...] = (1, 2),
    progress: Callable[[str], None] | None = None,
) -> ModelArtifact:
    """Export a model (nn.Module, checkpoint folder or preset name) to `out_path`.

    precision: "fp32"; "fp16" (LayerNorm, Softmax, the head and the final resize in FP32);
        "int8" (Q/DQ, needs `calib`: "DIR", "synthetic:N" or "nyu:DIR", see calibration.py).
    dynamic_batch / dynamic_hw: symbolic batch / height-width axes (a frame model always takes
        any frame size). embed_preprocess: the graph takes a uint8 BGR NHWC frame.
    fuse=False exports the model as trained (for comparisons). The ORT vs PyTorch parity
    check runs at each batch size in `parity_batches` (clamped to 1 without dynamic batch)
    and raises ParityError above `tolerance` (default per precision: TOLERANCE).
    Returns the ModelArtifact written into the file's metadata_props.
    """
    torch = lazy_import("torch")
    onnx = lazy_import("onnx")
    if precision not in TOLERANCE:
        raise UserError(f"unknown precision {precision!r} (fp32, fp16 or int8)")
    if opset < MIN_OPSET:
        raise UserError(f"opset {opset} < {MIN_OPSET}: LayerNorm would be decomposed")
    if precision == "int8" and not calib:
        raise UserError("INT8 export needs calibration images: --calib DIR|synthetic:N|nyu:DIR")
    say = progress or (lambda _msg: None)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)

    say("loading model")
    model, sha, source = load_model(model_or_checkpoint)
    cfg = model.cfg
    module, reference = _export_modules(model, fuse, embed_preprocess)
    kind = "frame" if embed_preprocess else "image"
    artifact = ModelArtifact(
        model_cfg=cfg, preprocess=cfg.preprocess, precision=precision, input_kind=kind,
        input_name=kind, output_name="depth", checkpoint_sha256=sha, package_version=__version__,
        dynamic_batch=dynamic_batch, dynamic_hw=dynamic_hw or embed_preprocess,
        extra={"opset": opset, "fused": fuse, "source": source},
    )
    with tempfile.TemporaryDirectory(prefix=f".{out_path.name}.", dir=out_path.parent) as tmp:
        fp32_path = Path(tmp) / "fp32.onnx"
        say("tracing to ONNX")
        _torch_export(torch, module, _example(artifact), fp32_path, artifact, opset)
        proto = onnx.load(str(fp32_path))
        inline_identity_initializers(proto.graph)
        if simplify:
            say("simplifying")
            proto = _simplify(proto)
        calib_inputs: list[np.ndarray] = []
        if precision == "fp16":
            say("converting to FP16")
            from .fp16 import convert_to_fp16

            proto = convert_to_fp16(proto)
        elif precision == "int8":
            from .calibration import calibration_batches
            from .quantize import quantize_int8

            say("reading calibration images")
            calib_inputs = calibration_batches(calib, artifact, calib_batch_size, calib_max_images)
            onnx.save(proto, str(fp32_path))
            say(f"calibrating ({calib_method}) and quantizing to INT8 Q/DQ")
            proto, info = quantize_int8(fp32_path, Path(tmp) / "int8.onnx", calib_inputs,
                                        method=calib_method, activations=int8_activations)
            info.update(calib=calib, images=int(sum(b.shape[0] for b in calib_inputs)))
            artifact = _with_extra(artifact, int8=info)
        proto = finalize(proto, artifact)
        final = Path(tmp) / "model.onnx"
        onnx.save(proto, str(final))
        say("checking ONNX Runtime against PyTorch")
        err = _parity(final, reference, artifact, parity_batches, calib_inputs, torch)
        limit = TOLERANCE[precision] if tolerance is None else tolerance
        if not err <= limit:
            raise ParityError(f"export out of tolerance: ONNX Runtime vs PyTorch error {err:.3g} > "
                              f"{limit:g} ({precision}); nothing written")
        proto = _set_metadata(proto, _with_extra(artifact, parity_error=err))
        onnx.save(proto, str(final))
        os.replace(final, out_path)
    return ModelArtifact.from_metadata_props({p.key: p.value for p in proto.metadata_props})


def _export_modules(model: Any, fuse: bool, embed_preprocess: bool) -> tuple[Any, Any]:
    """(module to trace, unfused reference with the same input contract)."""
    from .fuse import FrameInput, can_fold_input, fuse_model

    if embed_preprocess:
        folded = fuse and can_fold_input(model)
        exported = FrameInput(fuse_model(model, frame_input=folded), folded=folded) if fuse \
            else FrameInput(model, folded=False)
        return exported.eval(), FrameInput(model, folded=False).eval()
    return (fuse_model(model) if fuse else model), model


def _example(artifact: ModelArtifact) -> tuple[int, ...]:
    """Trace shape. Dynamic H/W traces off the native grid so positional-embedding
    interpolation is recorded (at the native size it is the identity)."""
    h, w = artifact.preprocess.size
    if artifact.input_kind == "frame":
        return (2, h + 37, w + 53, 3)
    if artifact.dynamic_hw:
        return (2, 3, h + 32, w + 32)
    return (2, 3, h, w)


def _torch_export(torch: Any, module: Any, shape: tuple[int, ...], path: Path,
                  artifact: ModelArtifact, opset: int) -> None:
    name = artifact.input_name
    if artifact.input_kind == "frame":
        example = torch.randint(0, 256, shape, dtype=torch.uint8)
        axes = {0: "batch", 1: "height", 2: "width"}
    else:
        example = torch.rand(shape)
        axes = {0: "batch", 2: "height", 3: "width"} if artifact.dynamic_hw else {0: "batch"}
    if not artifact.dynamic_batch:
        axes.pop(0)
        example = example[:1]
    out_axes = {0: "batch", 2: "out_height", 3: "out_width"} if artifact.dynamic_hw else {0: "batch"}
    if not artifact.dynamic_batch:
        out_axes.pop(0)
    if artifact.dynamic_hw and artifact.input_kind == "image":
        return _dynamo_export(torch, module, example, path, artifact, axes, opset)
    with contextlib.ExitStack() as stack:
        stack.enter_context(torch.no_grad())
        stack.enter_context(_no_mha_fastpath(torch))
        stack.enter_context(_quiet_export_warnings())
        torch.onnx.export(
            module, (example,), str(path), dynamo=False, opset_version=opset,
            input_names=[name], output_names=[artifact.output_name],
            dynamic_axes={name: axes, artifact.output_name: out_axes} if axes or out_axes else None,
            do_constant_folding=True,
        )


def _dynamo_export(torch: Any, module: Any, example: Any, path: Path, artifact: ModelArtifact,
                   axes: dict[int, str], opset: int) -> None:
    """torch.export-based exporter, for images of any size: the TorchScript tracer bakes the
    token count into nn.MultiheadAttention's reshapes. H and W are multiples of the patch."""
    patch = getattr(module.encoder, "patch", 32)
    dims = {}
    for axis, label in axes.items():
        if axis == 0:
            dims[axis] = torch.export.Dim(label, min=1, max=1024)
        else:
            dims[axis] = patch * torch.export.Dim(f"{label}_patches", min=1, max=256)
    with torch.no_grad(), _quiet_export_warnings():
        torch.onnx.export(module, (example,), str(path), dynamo=True, opset_version=max(opset, 18),
                          input_names=[artifact.input_name], output_names=[artifact.output_name],
                          dynamic_shapes={artifact.input_name: dims}, optimize=True, verbose=False)


@contextlib.contextmanager
def _no_mha_fastpath(torch: Any):
    """nn.MultiheadAttention's fused inference kernel has no ONNX symbolic; trace the math."""
    enabled = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(enabled)


@contextlib.contextmanager
def _quiet_export_warnings():
    import warnings

    with warnings.catch_warnings():
        # the TorchScript exporter's deprecation notice and trace warnings about shape checks
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*Converting a tensor to a Python.*")
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*")
        yield


def _simplify(proto: Any) -> Any:
    optimizer = lazy_import("onnxscript.optimizer", "train")
    return optimizer.optimize(proto)


def _with_extra(artifact: ModelArtifact, **extra: Any) -> ModelArtifact:
    from dataclasses import replace

    return replace(artifact, extra={**artifact.extra, **extra})


def _set_metadata(proto: Any, artifact: ModelArtifact) -> Any:
    kept = [p for p in proto.metadata_props if p.key not in artifact.to_metadata_props()]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    for key, value in artifact.to_metadata_props().items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    return proto


def finalize(proto: Any, artifact: ModelArtifact) -> Any:
    """Metadata, producer, shape inference and the full ONNX checker; returns the model."""
    onnx = lazy_import("onnx")
    proto = _set_metadata(proto, artifact)
    proto.producer_name, proto.producer_version = "moadepth-edge", __version__
    proto.doc_string = f"{artifact.model_cfg.name}: {artifact.input_kind} -> depth (metres), {artifact.precision}"
    proto = onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True, data_prop=True)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def cpu_disabled_optimizers(precision: str) -> list[str]:
    """ORT CPU graph optimizers to turn off for a model of `precision`: ONNX Runtime 1.32's
    NCHWc layout transformer crashes (segfault) on the FP16 graph at ORT_ENABLE_ALL."""
    return ["NchwcTransformer"] if precision == "fp16" else []


def _parity(path: Path, reference: Any, artifact: ModelArtifact, batches: tuple[int, ...],
            calib_inputs: list[np.ndarray], torch: Any) -> float:
    """Worst parity error of the ONNX file at `path` against the PyTorch reference."""
    ort = lazy_import("onnxruntime")
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
