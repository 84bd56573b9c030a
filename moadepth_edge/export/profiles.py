"""Target profiles: TOML files in the repository's top-level export/ folder.

One file per deployment target. `[export]` is read here (what `moadepth-edge export` makes),
`[input]` and `[tensorrt]` by trt_profile.py (what `moadepth-edge build` makes of it):

    name = "jetson-orin-nano-fp16"
    description = "..."
    [export]
    precision = "fp16"            # fp32 / fp16 / int8
    dynamic_batch = true
    dynamic_hw = false
    embed_preprocess = false
    opset = 17
    simplify = true
    calib_method = "percentile"   # int8: minmax / percentile / entropy
    int8_activations = "symmetric"
    [input]
    height = 224                  # or { min, opt, max }
    width = 224
    [tensorrt]
    precision = "fp16"
    workspace_mb = 1024
    batch = { min = 1, opt = 1, max = 4 }
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 (JetPack 6)
    import tomli as tomllib

PROFILE_DIR = Path(__file__).resolve().parents[2] / "export"


@dataclass(frozen=True)
class ExportProfile:
    """The `[export]` table; None: not set by the profile (the exporter's default applies)."""

    name: str
    description: str = ""
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
        """The keyword arguments of export_onnx this profile sets."""
        skip = {"name", "description"}
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in skip and getattr(self, f.name) is not None}


def known_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml")) if PROFILE_DIR.is_dir() else []


def profile_path(name_or_path: str | Path) -> Path:
    """export/NAME.toml of this checkout, or a path to a .toml file; UserError when missing."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = PROFILE_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        known = known_profiles()
        raise UserError(f"unknown target profile {str(name_or_path)!r}"
                        + (f" (known: {', '.join(known)})" if known else ""))
    return path


def read_profile(name_or_path: str | Path) -> dict[str, Any]:
    """The whole parsed TOML of a target profile."""
    path = profile_path(name_or_path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path.name} is not valid TOML: {exc}") from None


def load_export_profile(name_or_path: str | Path) -> ExportProfile:
    """The `[export]` table of a target profile; unknown keys are an error (typos)."""
    data = read_profile(name_or_path)
    table = data.get("export", {})
    known = {f.name for f in fields(ExportProfile)} - {"name", "description"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise UserError(f"profile {name_or_path}: unknown [export] keys {unknown} "
                        f"(known: {', '.join(sorted(known))})")
    return ExportProfile(name=str(data.get("name", Path(str(name_or_path)).stem)),
                         description=str(data.get("description", "")), **table)
