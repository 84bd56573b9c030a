"""`export_onnx`: a trained model -> one fused, checked ONNX file carrying its ModelArtifact.

Steps: fold (fuse.py) -> torch.onnx.export (TorchScript exporter: LayerNorm stays one
LayerNormalization node at opset >= 17) -> metadata, shape inference, `onnx.checker` full
check, optional simplification -> FP16 / INT8 conversion -> ONNX Runtime vs PyTorch parity.
Everything is written to a temporary file beside `out_path` and renamed only when the parity
check passes, so a failed export leaves nothing behind.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np

from .. import __version__
from .._lazy import lazy_import
from ..formats.artifact import ModelArtifact
from ..config import PRESETS, get_preset
from ..errors import UserError, WriteFailed
from ..outputs import output_file
from .graph import inline_identity_initializers
from .quantize import ACTIVATIONS
from .parity import TOLERANCE, ParityError, check_parity, relative_error  # noqa: F401 (re-export)
from .trace import trace_to_onnx

Precision = Literal["fp32", "fp16", "int8"]
MIN_OPSET = 17
MAX_OPSET = 20  # the TorchScript exporter's highest (torch.onnx._constants); the dynamo one reaches 23


def check_opset(opset: int) -> int:
    """`opset` if both exporters and the checker support it, else UserError (before any work)."""
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise UserError(f"--opset must be in {MIN_OPSET}..{MAX_OPSET} (below {MIN_OPSET} LayerNorm is "
                        f"decomposed; above {MAX_OPSET} PyTorch's exporter cannot write it), got {opset}")
    return opset


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
    int8_activations: Literal["symmetric", "asymmetric", "dynamic"] = "symmetric",
    tolerance: float | None = None,
    parity_batches: tuple[int, ...] = (1, 2),
    progress: Callable[[str], None] | None = None,
) -> ModelArtifact:
    """Export a model (nn.Module, checkpoint folder or preset name) to `out_path`.

    precision: "fp32"; "fp16" (LayerNorm, Softmax, the head and the final resize in FP32);
        "int8" (Q/DQ, needs `calib`: "DIR", "synthetic:N" or "nyu:DIR", see calibration.py).
    int8_activations: "symmetric" (TensorRT's Q/DQ), "asymmetric" (uint8 Q/DQ) or "dynamic"
        (ONNX Runtime's CPU form, quantize_cpu.py; the `calib` images check it).
    dynamic_batch / dynamic_hw: symbolic batch / height-width axes (a frame model always takes
        any frame size). embed_preprocess: the graph takes a uint8 BGR NHWC frame.
    fuse=False exports the model as trained (for comparisons). The ORT vs PyTorch parity
    check runs at each batch size in `parity_batches` (clamped to 1 without dynamic batch)
    and raises ParityError above `tolerance` (default per precision: TOLERANCE).
    Returns the ModelArtifact written into the file's metadata_props.
    """
    onnx = lazy_import("onnx")
    if precision not in TOLERANCE:
        raise UserError(f"unknown precision {precision!r} (fp32, fp16 or int8)")
    check_opset(opset)
    if precision == "int8" and not calib:
        raise UserError("INT8 export needs calibration images: --calib DIR|synthetic:N|nyu:DIR")
    if precision == "int8" and int8_activations not in ACTIVATIONS:
        raise UserError(f"--int8-activations must be one of {', '.join(ACTIVATIONS)}, got {int8_activations!r}")
    say = progress or (lambda _msg: None)
    out_path = output_file(out_path, "export to", (".onnx",))

    say("loading model")
    model, sha, source = load_model(model_or_checkpoint)
    cfg = model.cfg
    module, reference = _export_modules(model, fuse, embed_preprocess)
    kind = "frame" if embed_preprocess else "image"
    artifact = ModelArtifact(
        model_cfg=cfg, precision=precision, input_kind=kind,
        input_name=kind, output_name="depth", checkpoint_sha256=sha, package_version=__version__,
        dynamic_batch=dynamic_batch, dynamic_hw=dynamic_hw or embed_preprocess,
        extra={"opset": opset, "fused": fuse, "source": source},
    )
    try:  # every write goes to a temp folder beside out_path: a full disk leaves nothing half-written
        with tempfile.TemporaryDirectory(prefix=f".{out_path.name}.", dir=out_path.parent) as tmp:
            fp32_path = Path(tmp) / "fp32.onnx"
            say("tracing to ONNX")
            trace_to_onnx(module, artifact, fp32_path, opset)
            proto = onnx.load(str(fp32_path))
            inline_identity_initializers(proto.graph)
            if simplify:
                say("simplifying")
                proto = _simplify(proto)
            proto, artifact, calib_inputs = _convert(proto, artifact, Path(tmp), say, calib=calib,
                                                     calib_method=calib_method,
                                                     calib_batch_size=calib_batch_size,
                                                     calib_max_images=calib_max_images,
                                                     int8_activations=int8_activations)
            proto = finalize(proto, artifact)
            final = Path(tmp) / "model.onnx"
            onnx.save(proto, str(final))
            say("checking ONNX Runtime against PyTorch")
            err = check_parity(final, reference, artifact, parity_batches, calib_inputs)
            limit = TOLERANCE[precision] if tolerance is None else tolerance
            if not err <= limit:
                raise ParityError(f"export out of tolerance: ONNX Runtime vs PyTorch error {err:.3g} > "
                                  f"{limit:g} ({precision}); nothing written")
            proto = _set_metadata(proto, _with_extra(artifact, parity_error=err))
            onnx.save(proto, str(final))
            os.replace(final, out_path)
    except OSError as exc:
        raise WriteFailed(out_path, exc) from None
    return ModelArtifact.from_metadata_props({p.key: p.value for p in proto.metadata_props})


def _convert(proto: Any, artifact: ModelArtifact, tmp: Path, say: Callable[[str], None], *,
             calib: str | None, calib_method: str, calib_batch_size: int, calib_max_images: int,
             int8_activations: str) -> tuple[Any, ModelArtifact, list[np.ndarray]]:
    """The FP32 graph at the artifact's precision: (model, artifact, calibration inputs)."""
    if artifact.precision == "fp16":
        from .fp16 import convert_to_fp16

        say("converting to FP16")
        return convert_to_fp16(proto), artifact, []
    if artifact.precision != "int8":
        return proto, artifact, []
    from .calibration import calibration_batches
    from .quantize import quantize_int8

    say("reading calibration images")
    inputs = calibration_batches(calib, artifact, calib_batch_size, calib_max_images)
    lazy_import("onnx").save(proto, str(tmp / "float.onnx"))
    say("quantizing to INT8 for ONNX Runtime's CPU kernels" if int8_activations == "dynamic"
        else f"calibrating ({calib_method}) and quantizing to INT8 Q/DQ")
    proto, info = quantize_int8(tmp / "float.onnx", tmp / "int8.onnx", inputs,
                                method=calib_method, activations=int8_activations)
    info.update(calib=calib, images=int(sum(b.shape[0] for b in inputs)))
    return proto, _with_extra(artifact, int8=info), inputs


def _export_modules(model: Any, fuse: bool, embed_preprocess: bool) -> tuple[Any, Any]:
    """(module to trace, unfused reference with the same input contract)."""
    from .fuse import FrameInput, can_fold_input, fuse_model

    if embed_preprocess:
        folded = fuse and can_fold_input(model)
        exported = FrameInput(fuse_model(model, frame_input=folded), folded=folded) if fuse \
            else FrameInput(model, folded=False)
        return exported.eval(), FrameInput(model, folded=False).eval()
    return (fuse_model(model) if fuse else model), model


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
