"""Every TensorRT 10 <-> 11 difference this package cares about, decided in one place.

Pure logic on a version string: no tensorrt import, so it is unit-tested on any machine, and
`scripts/check_trt_api.py` checks the names below against the real 10.3 and 11.x bindings.

What changes between the majors (TensorRT 10 -> 11 migration guide):
- 11 removes weak typing: the FP16 / INT8 / OBEY_PRECISION_CONSTRAINTS builder flags and
  per-layer precision (`ILayer.precision`, `set_output_type`) are gone; every network is
  strongly typed and the STRONGLY_TYPED creation flag is kept only as an ignored no-op.
  FP16 then comes from an FP16 ONNX, INT8 from a Q/DQ ONNX.
- The implicit INT8 calibrator (deprecated since 10.1) is gone in 11; it is not used here at
  all: INT8 always comes from explicit quantization (Q/DQ nodes in the ONNX).
- 11 adds HardwareCompatibilityLevel.SAME_COMPUTE_CAPABILITY.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from ..formats.versions import parse_version
from ..errors import UserError

Precision = Literal["fp32", "fp16", "int8", "best"]
PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8", "best")
HardwareCompat = Literal["none", "ampere_plus", "same_compute_capability"]

# tensorrt names that exist only in some major versions: name -> (first major, last major or None).
# Code reaches them only through the branches below; every other tensorrt name the package uses
# must exist in both majors (tests/export/test_tensorrt_api_surface.py checks both claims).
VERSION_SPECIFIC: dict[str, tuple[int, int | None]] = {
    "BuilderFlag.FP16": (10, 10),
    "BuilderFlag.INT8": (10, 10),
    "BuilderFlag.OBEY_PRECISION_CONSTRAINTS": (10, 10),
    "BuilderFlag.PREFER_PRECISION_CONSTRAINTS": (10, 10),
    "ILayer.precision": (10, 10),
    "ILayer.set_output_type": (10, 10),
    "HardwareCompatibilityLevel.SAME_COMPUTE_CAPABILITY": (11, None),
}

_HW_LEVELS = {"none": "NONE", "ampere_plus": "AMPERE_PLUS", "same_compute_capability": "SAME_COMPUTE_CAPABILITY"}


@dataclass(frozen=True)
class TrtCaps:
    """What the installed TensorRT can do, from its version alone."""

    version: tuple[int, ...]

    @property
    def major(self) -> int:
        return self.version[0]

    @property
    def weak_typing(self) -> bool:
        """FP16/INT8 builder flags and per-layer precision exist (TensorRT 10.x)."""
        return self.major < 11

    @property
    def strongly_typed_flag(self) -> bool:
        """Whether STRONGLY_TYPED must be passed to opt in (10.x); ignored in 11, so not passed."""
        return self.major < 11

    def hardware_level_name(self, level: HardwareCompat) -> str:
        """The HardwareCompatibilityLevel member for `level`, or UserError if this version lacks it."""
        name = _HW_LEVELS.get(level)
        if name is None:
            raise UserError(f"unknown hardware compatibility {level!r}; choose one of {', '.join(_HW_LEVELS)}")
        first, last = VERSION_SPECIFIC.get(f"HardwareCompatibilityLevel.{name}", (0, None))
        if self.major < first or (last is not None and self.major > last):
            raise UserError(f"hardware compatibility {level!r} needs TensorRT {first}+; "
                            f"this is TensorRT {'.'.join(map(str, self.version))}")
        return name


def caps_for(version: str) -> TrtCaps:
    """TrtCaps for a TensorRT version string (`tensorrt.__version__`)."""
    caps = TrtCaps(parse_version(version))
    if caps.major < 10:
        raise UserError(f"TensorRT {version} is too old: moadepth-edge needs TensorRT 10.3 or newer")
    return caps


@dataclass(frozen=True)
class OnnxFacts:
    """What the precision policy needs to know about the ONNX graph."""

    has_qdq: bool  # QuantizeLinear/DequantizeLinear nodes: explicit INT8 quantization
    has_fp16: bool  # float16 weights or casts: an FP16 (mixed-precision) graph


@dataclass(frozen=True)
class PrecisionPlan:
    """How to build for one precision: network typing, builder flags, FP32-pinned layer types."""

    precision: Literal["fp32", "fp16", "int8"]  # what the engine computes in, for the header
    strongly_typed: bool
    network_flags: tuple[str, ...] = ()  # NetworkDefinitionCreationFlag members
    flags: tuple[str, ...] = ()  # BuilderFlag members to set
    clear_flags: tuple[str, ...] = ()  # BuilderFlag members to clear
    fp32_layers: tuple[str, ...] = ()  # LayerType members pinned to FP32 (weak typing only)
    note: str = ""


def precision_plan(caps: TrtCaps, requested: Precision, onnx: OnnxFacts, dla: bool = False) -> PrecisionPlan:
    """The build recipe for `requested` on this TensorRT, or a UserError saying what to export.

    fp32: strongly typed from an FP32 ONNX, TF32 off (as Polygraphy does by default).
    fp16: FP16 ONNX -> strongly typed; FP32 ONNX -> on 10.x the FP16 flag with LayerNorm pinned
        to FP32 (precision constraints); on 11.x an error asking for the FP16 ONNX.
    int8: a Q/DQ ONNX, strongly typed (explicit quantization). No implicit calibrator.
    best: 10.x lets TensorRT pick FP16/INT8 per layer (weak typing); 11.x builds the graph's types.
    dla: DLA runs FP16/INT8 only; on 10.x it is built weakly typed, with GPU fallback.
    """
    if requested not in PRECISIONS:
        raise UserError(f"unknown precision {requested!r}; choose one of {', '.join(PRECISIONS)}")
    if dla and requested == "fp32":
        raise UserError("DLA runs FP16 or INT8 only; use --precision fp16, int8 or best with --dla-core")
    fallback = ("GPU_FALLBACK",) if dla else ()
    typed = ("STRONGLY_TYPED",) if caps.strongly_typed_flag else ()
    graph_precision = "int8" if onnx.has_qdq else "fp16" if onnx.has_fp16 else "fp32"
    strong = PrecisionPlan(graph_precision, True, typed, fallback)

    if requested == "int8" and not onnx.has_qdq:
        raise UserError("INT8 needs a Q/DQ (explicitly quantized) ONNX: export it with "
                        "`moadepth-edge export --precision int8`; TensorRT's implicit calibrator is "
                        "not supported (deprecated in 10.1, removed in 11)")
    if requested in ("fp32", "fp16") and onnx.has_qdq:
        raise UserError(f"this ONNX is INT8-quantized (Q/DQ); build it with --precision int8 or best, "
                        f"or build {requested} from the unquantized export")
    if requested == "fp32" and onnx.has_fp16:
        raise UserError("this ONNX is an FP16 export; build it with --precision fp16, "
                        "or build fp32 from the FP32 export")

    if requested == "fp32":
        return PrecisionPlan("fp32", True, typed, fallback, clear_flags=("TF32",))
    if requested == "int8":
        if dla and caps.weak_typing:  # DLA on 10.x takes the INT8/FP16 flags, not strong typing
            return _weak(("FP16", "INT8"), "int8", dla, "DLA INT8 from the Q/DQ scales (10.x flags)")
        return replace(strong, note="explicit quantization (Q/DQ), strongly typed")
    if requested == "fp16":
        if onnx.has_fp16 and not (dla and caps.weak_typing):  # 10.x DLA takes the FP16 flag
            return replace(strong, note="FP16 ONNX, strongly typed")
        if not caps.weak_typing:
            raise UserError("TensorRT 11 has no FP16 builder flag: build from the FP16 ONNX "
                            "(`moadepth-edge export --precision fp16`, LayerNorm kept in FP32)")
        return _weak(("FP16",), "fp16", dla, "FP16 flag, LayerNorm pinned to FP32")
    # best
    if not caps.weak_typing:
        return replace(strong, note=f"TensorRT 11 builds the graph's own types ({graph_precision})")
    flags = ("FP16", "INT8") if onnx.has_qdq else ("FP16",)
    return _weak(flags, "int8" if onnx.has_qdq else "fp16", dla, "TensorRT picks FP16/INT8 per layer")


def _weak(flags: tuple[str, ...], precision: str, dla: bool, note: str) -> PrecisionPlan:
    # OBEY fails a DLA build whose pinned layers cannot run there; PREFER lets them fall back.
    constraint = "PREFER_PRECISION_CONSTRAINTS" if dla else "OBEY_PRECISION_CONSTRAINTS"
    extra = ("GPU_FALLBACK",) if dla else ()
    return PrecisionPlan(precision, False, (), flags + (constraint,) + extra,  # type: ignore[arg-type]
                         fp32_layers=("NORMALIZATION",), note=note)
