"""Target profiles: one TOML file per deployment target, shipped inside the package.

The files live in moadepth_edge/formats/profiles/ (package data, found from any working
directory of an installed wheel); the repository's top-level export/ shows the same files. A
user's own `profile.toml` path works too. One reader (`load_profile`) validates every key on
read; `export`, `build` and `bench` take the view they need, and command-line flags override
a profile one way (`override`):

    name = "jetson-orin-nano-fp16"
    description = "..."
    [export]                      # what `moadepth-edge export` makes
    precision = "fp16"            # fp32 / fp16 / int8
    dynamic_batch = true
    dynamic_hw = false
    embed_preprocess = false
    opset = 17
    simplify = true
    calib_method = "percentile"   # int8: minmax / percentile / entropy
    calib_batch_size = 8
    int8_activations = "symmetric"  # symmetric (TensorRT) / asymmetric / dynamic (ORT CPU)
    [input]
    height = 224                  # or { min, opt, max }
    width = 224
    [tensorrt]                    # what `moadepth-edge build` makes
    precision = "fp16"            # fp32 / fp16 / int8 / best
    workspace_mb = 1024
    dla_core = 0                  # omit for GPU only
    batch = { min = 1, opt = 1, max = 4 }
    streams = 4                   # instead of batch: N camera streams batched (batch 1:N:N)
    version_compatible = false
    hardware_compat = "none"      # none / ampere_plus / same_compute_capability
"""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, TypeVar

from ..errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 (JetPack 6)
    import tomli as tomllib

PROFILE_DIR = Path(__file__).with_name("profiles")
S = TypeVar("S")


@dataclass(frozen=True)
class DimRange:
    """One dimension's optimization range (TensorRT min <= opt <= max)."""

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
            if isinstance(value, bool):
                raise TypeError
            return cls(int(value), int(value), int(value))
        except (KeyError, ValueError, TypeError):
            raise UserError(f"{what}: expected N, MIN:OPT:MAX or {{min, opt, max}}, got {value!r}") from None


@dataclass(frozen=True)
class ExportSettings:
    """The `[export]` table; None: not set (the exporter's default applies)."""

    precision: str | None = None
    dynamic_batch: bool | None = None
    dynamic_hw: bool | None = None
    embed_preprocess: bool | None = None
    opset: int | None = None
    simplify: bool | None = None
    calib_method: str | None = None
    calib_batch_size: int | None = None
    int8_activations: str | None = None

    def options(self) -> dict[str, Any]:
        """The keyword arguments of export_onnx these settings set."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass(frozen=True)
class TensorRTSettings:
    """The `[tensorrt]` table; None: not set (the builder's default applies)."""

    precision: str | None = None
    workspace_mb: int | None = None
    dla_core: int | None = None
    batch: DimRange | None = None
    streams: int | None = None  # read as batch = streams_batch(streams)
    version_compatible: bool | None = None
    hardware_compat: str | None = None


def streams_batch(streams: int) -> DimRange:
    """The batch range for `streams` camera streams batched into one call (`run` with several
    sources): up to all of them, tuned for all of them (opt = max: every stream usually has a
    frame ready), down to one (streams that stalled or ended)."""
    if isinstance(streams, bool) or not isinstance(streams, int) or not 1 <= streams <= 64:
        raise UserError(f"streams must be an integer from 1 to 64, got {streams!r}")
    return DimRange(1, streams, streams)


@dataclass(frozen=True)
class TargetProfile:
    """A whole target profile; `TargetProfile()` is the empty one (every default applies)."""

    name: str = ""
    description: str = ""
    export: ExportSettings = field(default_factory=ExportSettings)
    height: DimRange | None = None
    width: DimRange | None = None
    tensorrt: TensorRTSettings = field(default_factory=TensorRTSettings)

    def bench_view(self) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...], tuple[str, ...]]:
        """(batch sizes, resolutions, precisions) a benchmark of this target measures: TensorRT's
        batch {min, opt, max}, the input size (its opt when a range), the precision."""
        b = self.tensorrt.batch
        batches = tuple(sorted({b.min, b.opt, b.max})) if b else ()
        resolutions = ((self.height.opt, self.width.opt),) if self.height and self.width else ()
        precision = self.tensorrt.precision or self.export.precision
        return batches, resolutions, (precision,) if precision else ()


def override(settings: S, **flags: Any) -> S:
    """`settings` with every flag that was given (not None) on top: the one way command-line
    flags and a profile combine."""
    return dataclasses.replace(settings, **{k: v for k, v in flags.items() if v is not None})  # type: ignore[type-var]


# -- reading --------------------------------------------------------------------------------------

_CHOICES = {
    ("export", "precision"): ("fp32", "fp16", "int8"),
    ("export", "calib_method"): ("minmax", "percentile", "entropy"),
    ("export", "int8_activations"): ("symmetric", "asymmetric", "dynamic"),
    ("tensorrt", "precision"): ("fp32", "fp16", "int8", "best"),
    ("tensorrt", "hardware_compat"): ("none", "ampere_plus", "same_compute_capability"),
}
_TYPES = {bool: "true or false", int: "an integer", str: "a string"}


def known_profiles() -> list[str]:
    """The names of the profiles shipped with the package."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def profile_path(name_or_path: str | Path) -> Path:
    """The shipped profile NAME, or a path to a .toml file; UserError listing the known ones."""
    path = Path(name_or_path)
    if path.suffix.lower() == ".toml" and not path.is_file():
        raise UserError(f"profile file not found: {path}")
    if path.suffix.lower() != ".toml":
        path = PROFILE_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise UserError(f"unknown target profile {str(name_or_path)!r} (known: {', '.join(known_profiles())}; "
                        "or give the path of a .toml file)")
    return path


def check_choice(section: str, key: str, value: Any, what: str) -> None:
    """`value` (None: not given) one of the choices of [section] key; else UserError naming `what`
    (a profile's key or a command-line flag)."""
    choices = _CHOICES.get((section, key))
    if value is not None and choices and value not in choices:
        raise UserError(f"{what} must be one of {', '.join(choices)}, got {value!r}")


def _value(table: Mapping[str, Any], key: str, tp: type, section: str, where: str) -> Any:
    value = table[key]
    ok = isinstance(value, tp) and not (tp is int and isinstance(value, bool))
    if not ok:
        raise UserError(f"{where} [{section}] {key} must be {_TYPES[tp]}, got {value!r}")
    check_choice(section, key, value, f"{where} [{section}] {key}")
    if tp is int and value < (0 if key == "dla_core" else 1):
        raise UserError(f"{where} [{section}] {key} must be positive, got {value}")
    return value


def _table(data: Mapping[str, Any], section: str, cls: type, where: str,
           ranges: tuple[str, ...] = ()) -> dict[str, Any]:
    """The validated keyword arguments of `cls` from `data[section]`; unknown keys are typos."""
    import typing

    table = data.get(section, {})
    if not isinstance(table, Mapping):
        raise UserError(f"{where}: [{section}] must be a table")
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(table) - set(hints))
    if unknown:
        raise UserError(f"{where}: unknown [{section}] keys {unknown} (known: {', '.join(sorted(hints))})")
    out = {}
    for key in table:
        if key in ranges:
            out[key] = DimRange.parse(table[key], f"{where} [{section}] {key}")
        else:
            tp = next(a for a in typing.get_args(hints[key]) if a is not type(None))
            out[key] = _value(table, key, tp, section, where)
    return out


@dataclass(frozen=True)
class _Input:
    height: DimRange | None = None
    width: DimRange | None = None


def load_profile(name_or_path: str | Path) -> TargetProfile:
    """Read and validate a target profile (a shipped name or a .toml path); UserError, one line,
    naming the file and the key, for anything wrong."""
    path = profile_path(name_or_path)
    where = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{where} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"name", "description", "export", "input", "tensorrt"})
    if unknown:
        raise UserError(f"{where}: unknown keys or tables {unknown}")
    inp = _table(data, "input", _Input, where, ranges=("height", "width"))
    trt = _table(data, "tensorrt", TensorRTSettings, where, ranges=("batch",))
    if trt.get("streams") is not None:
        if trt.get("batch") is not None:
            raise UserError(f"{where} [tensorrt] sets both batch and streams; give one (streams = N means "
                            "batch 1:N:N)")
        trt["batch"] = streams_batch(trt["streams"])
    return TargetProfile(
        name=str(data.get("name", path.stem)), description=str(data.get("description", "")),
        export=ExportSettings(**_table(data, "export", ExportSettings, where)),
        height=inp.get("height"), width=inp.get("width"),
        tensorrt=TensorRTSettings(**trt),
    )

