"""Optimization-profile shapes for an engine: the ONNX input's dims + the target's ranges.

A target profile (`export/NAME.toml`, parsed by profiles.py) gives ranges as `{min, opt, max}`
(or one number for a fixed size); this module turns them into TensorRT's (min, opt, max) input
shapes. Pure logic. The keys read here (an unknown [tensorrt] key is an error, like a typo):

    [input]
    height = 224                          # or { min = 192, opt = 224, max = 320 }
    width = 224
    [tensorrt]
    precision = "fp16"                    # fp32 / fp16 / int8 / best
    workspace_mb = 1024
    dla_core = 0                          # omit for GPU only
    batch = { min = 1, opt = 1, max = 4 }
    version_compatible = false
    hardware_compat = "none"              # none / ampere_plus / same_compute_capability
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import UserError
from .profiles import read_profile

_TRT_KEYS = {"precision", "workspace_mb", "dla_core", "batch", "version_compatible", "hardware_compat"}


@dataclass(frozen=True)
class DimRange:
    """One dimension's optimization range."""

    min: int
    opt: int
    max: int

    def __post_init__(self) -> None:
        if not 1 <= self.min <= self.opt <= self.max:
            raise UserError(f"a range needs 1 <= min <= opt <= max, got {self.min}/{self.opt}/{self.max}")

    @classmethod
    def parse(cls, value: Any, what: str) -> "DimRange":
        """From an int, a {min, opt, max} table or a "MIN:OPT:MAX" string."""
        try:
            if isinstance(value, Mapping):
                return cls(int(value["min"]), int(value["opt"]), int(value["max"]))
            if isinstance(value, str) and ":" in value:
                lo, opt, hi = (int(v) for v in value.split(":"))
                return cls(lo, opt, hi)
            return cls(int(value), int(value), int(value))
        except (KeyError, ValueError, TypeError):
            raise UserError(f"{what}: expected N, MIN:OPT:MAX or {{min, opt, max}}, got {value!r}") from None


@dataclass(frozen=True)
class ShapeProfile:
    """TensorRT's three shapes for one input."""

    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]

    def to_dict(self) -> dict[str, list[int]]:
        return {"min": list(self.min), "opt": list(self.opt), "max": list(self.max)}


@dataclass(frozen=True)
class TargetProfile:
    """The TensorRT part of a target profile."""

    name: str
    precision: str | None = None
    workspace_mb: int | None = None
    dla_core: int | None = None
    batch: DimRange | None = None
    height: DimRange | None = None
    width: DimRange | None = None
    version_compatible: bool = False
    hardware_compat: str = "none"


def load_target_profile(name_or_path: str | Path) -> TargetProfile:
    """The `[input]` and `[tensorrt]` tables of a target profile (name or .toml path)."""
    data = read_profile(name_or_path)
    trt, inp = data.get("tensorrt", {}), data.get("input", {})
    unknown = sorted(set(trt) - _TRT_KEYS)
    if unknown:
        raise UserError(f"profile {name_or_path}: unknown [tensorrt] keys {unknown} "
                        f"(known: {', '.join(sorted(_TRT_KEYS))})")
    where = Path(str(name_or_path)).stem

    def rng(table: Mapping[str, Any], key: str, section: str) -> DimRange | None:
        return DimRange.parse(table[key], f"{where} [{section}] {key}") if key in table else None

    dla = trt.get("dla_core")
    return TargetProfile(
        name=str(data.get("name", where)),
        precision=trt.get("precision"),
        workspace_mb=int(trt["workspace_mb"]) if "workspace_mb" in trt else None,
        dla_core=None if dla is None or int(dla) < 0 else int(dla),
        batch=rng(trt, "batch", "tensorrt"),
        height=rng(inp, "height", "input"),
        width=rng(inp, "width", "input"),
        version_compatible=bool(trt.get("version_compatible", False)),
        hardware_compat=str(trt.get("hardware_compat", "none")),
    )


def profile_shapes(
    dims: Sequence[int | None],
    layout: str,
    batch: DimRange | None = None,
    height: DimRange | None = None,
    width: DimRange | None = None,
) -> tuple[ShapeProfile, list[str]]:
    """(min/opt/max shapes, notes) for an input with `dims` (None = dynamic) in NCHW or NHWC.

    Dynamic dims take the given ranges (batch defaults to 1); a fixed dim keeps its size, and a
    range that disagrees with it is reported in `notes`. A dynamic height/width with no range is
    a UserError: TensorRT needs bounds for every dynamic dim.
    """
    axes = {"NCHW": {0: ("batch", batch), 2: ("height", height), 3: ("width", width)},
            "NHWC": {0: ("batch", batch), 1: ("height", height), 2: ("width", width)}}
    if layout not in axes or len(dims) != 4:
        raise UserError(f"expected a 4-d NCHW or NHWC input, got {layout} {tuple(dims)}")
    lo, mid, hi, notes = [], [], [], []
    for axis, dim in enumerate(dims):
        what, rng = axes[layout].get(axis, (f"dim {axis}", None))
        if dim is None or dim <= 0:
            if rng is None and what == "batch":
                rng = DimRange(1, 1, 1)
            if rng is None:
                raise UserError(f"the ONNX input's {what} is dynamic: give its range "
                                f"(the target profile's [input] {what}, or --{what} MIN:OPT:MAX)")
            lo.append(rng.min), mid.append(rng.opt), hi.append(rng.max)
            continue
        if rng is not None and (rng.min, rng.opt, rng.max) != (dim, dim, dim):
            notes.append(f"the ONNX input's {what} is fixed at {dim}; the requested range "
                         f"{rng.min}..{rng.max} does not apply (export with a dynamic {what} to use it)")
        lo.append(dim), mid.append(dim), hi.append(dim)
    return ShapeProfile(tuple(lo), tuple(mid), tuple(hi)), notes
