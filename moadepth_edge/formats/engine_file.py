"""The `.engine` file: a small JSON header, then the TensorRT plan. Torch- and tensorrt-free.

Layout (little-endian):

    b"MOADTRT\\0"   8 bytes magic
    uint32          header length N
    N bytes         UTF-8 JSON header (EngineHeader)
    rest            the serialized TensorRT plan, byte for byte

`--raw` writes the plan alone (what `trtexec --loadEngine` reads) and the header beside it as
`NAME.engine.json`; `read_engine` accepts both forms. Before deserializing, the runner checks
the header against the running TensorRT and GPU (`check_compatible`) and refuses a mismatch
with one line that says what to rebuild, instead of a TensorRT stack trace.
"""
from __future__ import annotations

import json
import struct
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import __version__
from .artifact import ModelArtifact
from ..errors import IncompatibleEngine, UserError
from ..outputs import atomic_path
from .versions import parse_version

MAGIC = b"MOADTRT\x00"
FORMAT_VERSION = 1
_LEN = struct.Struct("<I")
SIDECAR_SUFFIX = ".json"


@dataclass(frozen=True)
class EngineHeader:
    """Where and how an engine was built, and the model contract it serves."""

    tensorrt_version: str
    cuda_version: str
    gpu_name: str
    compute_capability: tuple[int, int]
    precision: str  # what the engine computes in: fp32 / fp16 / int8
    artifact: ModelArtifact
    onnx_sha256: str
    onnx_name: str = ""
    requested_precision: str = ""  # as asked (may be "best")
    integrated_gpu: bool = False  # built on a Jetson-style integrated GPU
    dla_core: int | None = None
    version_compatible: bool = False
    hardware_compat: str = "none"  # none / ampere_plus / same_compute_capability
    io: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {mode, dtype, shape}
    profile: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # input -> min/opt/max
    plan_bytes: int = 0
    package_version: str = __version__

    def to_json(self) -> str:
        data = asdict(self)
        data["artifact"] = json.loads(self.artifact.to_json())
        data["format_version"] = FORMAT_VERSION
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "EngineHeader":
        data = json.loads(text)
        version = data.pop("format_version", None)
        if version != FORMAT_VERSION:
            raise ValueError(f"engine header format {version!r} is not {FORMAT_VERSION}")
        data["artifact"] = ModelArtifact.from_json(json.dumps(data["artifact"]))
        cc = data["compute_capability"]
        if not (isinstance(cc, list) and len(cc) == 2 and all(isinstance(v, int) for v in cc)):
            raise ValueError(f"compute_capability {cc!r} is not [major, minor]")
        data["compute_capability"] = tuple(cc)
        parse_version(data["tensorrt_version"])  # ValueError for an unparsable version
        return cls(**data)

    def rebuild_hint(self, engine_name: str, keep_dla: bool = True) -> str:
        """The command that rebuilds this engine on the current machine."""
        onnx = self.onnx_name or "MODEL.onnx"
        precision = self.requested_precision or self.precision
        dla = f" --dla-core {self.dla_core}" if keep_dla and self.dla_core is not None else ""
        return f"moadepth-edge build {onnx} --precision {precision}{dla} --out {engine_name}"


# -- file I/O ----------------------------------------------------------------------------------

def write_engine(path: str | Path, header: EngineHeader, plan: bytes | memoryview, raw: bool = False) -> Path:
    """Write header + plan atomically; with `raw`, the plan alone plus a `.json` sidecar."""
    path = Path(path)
    plan = memoryview(plan).cast("B")
    header = replace(header, plan_bytes=plan.nbytes)
    text = header.to_json().encode("utf-8")
    if raw:
        _atomic_write(path.with_name(path.name + SIDECAR_SUFFIX), [text])
        return _atomic_write(path, [plan])
    return _atomic_write(path, [MAGIC, _LEN.pack(len(text)), text, plan])


def read_engine(path: str | Path) -> tuple[EngineHeader, bytes]:
    """(header, plan) from an engine file or a raw plan with its sidecar; UserError if unusable."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"engine not found: {path}")
    data = path.read_bytes()
    if data.startswith(MAGIC):
        start = len(MAGIC) + _LEN.size
        if len(data) < start:
            raise UserError(f"{path.name} is truncated (no header length); rebuild it")
        (size,) = _LEN.unpack_from(data, len(MAGIC))
        text, plan = data[start:start + size], data[start + size:]
        if len(text) < size:
            raise UserError(f"{path.name} is truncated inside its header; rebuild it")
    else:
        sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
        if not sidecar.is_file():
            raise UserError(f"{path.name} has no moadepth header and no {sidecar.name} beside it: "
                            "build it with `moadepth-edge build`")
        text, plan = sidecar.read_bytes(), data
    try:
        header = EngineHeader.from_json(text.decode("utf-8"))
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path.name}: unreadable engine header ({exc}); rebuild it") from None
    if header.plan_bytes and len(plan) != header.plan_bytes:
        raise UserError(f"{path.name} holds {len(plan)} plan bytes, its header says "
                        f"{header.plan_bytes}: the file is truncated or was modified; rebuild it")
    return header, plan


def _atomic_write(path: Path, chunks: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        for chunk in chunks:
            f.write(chunk)
    return path


# -- compatibility -----------------------------------------------------------------------------

@dataclass(frozen=True)
class RuntimeEnv:
    """The machine an engine is about to run on."""

    tensorrt_version: str
    cuda_version: str
    gpu_name: str
    compute_capability: tuple[int, int]
    integrated_gpu: bool = False
    dla_cores: int = 0


def check_compatible(header: EngineHeader, env: RuntimeEnv, engine_name: str) -> list[str]:
    """Warnings for a usable engine; IncompatibleEngine (one line, with the rebuild command) if not.

    TensorRT: a plain engine needs the exact version it was built with; a version-compatible one
    runs on that version or newer (TensorRT 10 -> 11 included). GPU: the same compute capability,
    unless built hardware-compatible (ampere_plus: any discrete Ampere-or-newer GPU). DLA: the
    core it was built for must exist. A different GPU name or CUDA version only warns.
    """
    built_cc, here_cc = tuple(header.compute_capability), tuple(env.compute_capability)
    built = f"TensorRT {header.tensorrt_version} on {header.gpu_name} (sm_{_sm(built_cc)})"
    here = f"TensorRT {env.tensorrt_version} on {env.gpu_name} (sm_{_sm(here_cc)})"
    dla_problem = _dla_problem(header, env)
    problem = _trt_problem(header, env) or _gpu_problem(header, env) or dla_problem
    if problem:
        hint = header.rebuild_hint(engine_name, keep_dla=not dla_problem)
        raise IncompatibleEngine(f"{engine_name} was built with {built}, this machine has {here} "
                                 f"({problem}): rebuild it here with `{hint}`")
    warnings = []
    if header.gpu_name != env.gpu_name:
        warnings.append(f"{engine_name} was built on {header.gpu_name}, running on {env.gpu_name} "
                        "(same compute capability): it runs, but rebuilding here may be faster")
    if _major(header.cuda_version) != _major(env.cuda_version):
        warnings.append(f"{engine_name} was built with CUDA {header.cuda_version}, "
                        f"this machine has CUDA {env.cuda_version}")
    return warnings


def _trt_problem(header: EngineHeader, env: RuntimeEnv) -> str:
    built, here = parse_version(header.tensorrt_version), parse_version(env.tensorrt_version)
    if header.version_compatible:
        if here[:3] < built[:3]:
            return "a version-compatible engine needs the same or a newer TensorRT"
        return ""
    n = min(len(built), len(here))
    if built[:n] != here[:n] or n < 3:
        return "TensorRT engines run only on the exact version that built them"
    return ""


def _gpu_problem(header: EngineHeader, env: RuntimeEnv) -> str:
    built_cc, here_cc = tuple(header.compute_capability), tuple(env.compute_capability)
    if header.hardware_compat == "ampere_plus":
        if here_cc < (8, 0):
            return "a hardware-compatible engine needs an Ampere or newer GPU"
        if env.integrated_gpu:
            return "hardware-compatible engines are not supported on Jetson"
        return ""
    if built_cc != here_cc:
        return "the compute capability differs"
    return ""


def _dla_problem(header: EngineHeader, env: RuntimeEnv) -> str:
    if header.dla_core is not None and header.dla_core >= env.dla_cores:
        return f"it runs on DLA core {header.dla_core}, this device has {env.dla_cores} DLA core(s)"
    return ""


def _sm(cc: tuple[int, ...]) -> str:
    return "".join(str(c) for c in cc)


def _major(version: str) -> int | None:
    try:
        return parse_version(version)[0]
    except ValueError:
        return None
