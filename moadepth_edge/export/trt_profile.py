"""Optimization-profile shapes for an engine: the ONNX input's dims + the target's ranges.

A target profile (formats/profile.py) gives ranges as `{min, opt, max}` (or one number for a
fixed size); this module turns them into TensorRT's (min, opt, max) input shapes. Pure logic.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..errors import UserError
from ..formats.profile import DimRange


@dataclass(frozen=True)
class ShapeProfile:
    """TensorRT's three shapes for one input."""

    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]

    def to_dict(self) -> dict[str, list[int]]:
        return {"min": list(self.min), "opt": list(self.opt), "max": list(self.max)}


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
