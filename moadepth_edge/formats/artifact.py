"""The contract an exported model carries: config, preprocessing, provenance.

Stored as ONNX metadata_props under the single key `moadepth` (a JSON object), copied into the
TensorRT engine header, and read by the runtime. `read_artifact(path)` is the one reader of an
ONNX file's metadata: it walks the file's top-level protobuf fields and skips the graph, so it
is fast on a 350 MB model and needs neither onnx nor ONNX Runtime. Torch-free.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, Literal

from .. import __version__
from ..config import ModelCfg, PreprocessCfg, from_dict, to_dict
from ..errors import UserError

METADATA_KEY = "moadepth"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ModelArtifact:
    """What the runtime needs to know about an exported model.

    input_kind: "image" - float32 RGB NCHW in [0, 1] at preprocess.size (normalisation folded
        into the graph); "frame" - uint8 BGR NHWC of any size, resize/colour/scaling in the
        graph, depth returned at the frame's size (`--embed-preprocess`).
    """

    model_cfg: ModelCfg
    precision: Literal["fp32", "fp16", "int8"] = "fp32"
    input_kind: Literal["image", "frame"] = "image"
    input_name: str = "image"
    output_name: str = "depth"
    checkpoint_sha256: str = ""
    package_version: str = __version__
    dynamic_batch: bool = True
    dynamic_hw: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def preprocess(self) -> PreprocessCfg:
        """The input contract: the model config's own (stored once)."""
        return self.model_cfg.preprocess

    def to_json(self) -> str:
        data = {
            "format_version": FORMAT_VERSION,
            "model_cfg": to_dict(self.model_cfg),
            "precision": self.precision,
            "input_kind": self.input_kind,
            "input_name": self.input_name,
            "output_name": self.output_name,
            "checkpoint_sha256": self.checkpoint_sha256,
            "package_version": self.package_version,
            "dynamic_batch": self.dynamic_batch,
            "dynamic_hw": self.dynamic_hw,
            "extra": self.extra,
        }
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ModelArtifact":
        data = json.loads(text)
        version = data.pop("format_version", None)
        if version != FORMAT_VERSION:
            raise ValueError(f"model metadata format {version!r} is not {FORMAT_VERSION}; re-export the model")
        data["model_cfg"] = from_dict(ModelCfg, data["model_cfg"])
        data.pop("preprocess", None)  # files exported before it was stored once: model_cfg has it
        return cls(**data)

    def input_shape(self) -> tuple[int | None, ...]:
        """The model input's shape, None for dynamic dimensions (frame: NHWC uint8 of any size)."""
        if self.input_kind == "frame":
            return (None, None, None, 3)
        h, w = self.preprocess.size
        return (None if self.dynamic_batch else 1, 3, *((None, None) if self.dynamic_hw else (h, w)))

    def check_graph_input(self, dims: tuple[object, ...], name: str) -> None:
        """UserError when a model file's input (`dims`: ints for fixed dimensions) disagrees with
        what its metadata promises, e.g. metadata copied from another model."""
        expected = self.input_shape()
        fixed = tuple(d if isinstance(d, int) and d > 0 else None for d in dims)
        if len(fixed) != len(expected) or any(f != e for f, e in zip(fixed, expected)):
            show = lambda ds: tuple("?" if d is None else d for d in ds)  # noqa: E731
            raise UserError(f"{name}: its graph takes {show(fixed)} but its metadata says "
                            f"{show(expected)}; the file was modified or mixed up: re-export it")

    def to_metadata_props(self) -> dict[str, str]:
        return {METADATA_KEY: self.to_json()}

    @classmethod
    def from_metadata_props(cls, props: dict[str, str]) -> "ModelArtifact":
        if METADATA_KEY not in props:
            raise ValueError("the model has no moadepth metadata; export it with `moadepth-edge export`")
        return cls.from_json(props[METADATA_KEY])


# -- the one reader of an ONNX file's metadata ----------------------------------------------------

_METADATA_FIELD = 14  # ModelProto.metadata_props: repeated StringStringEntryProto {key = 1, value = 2}


def _varint(read: Callable[[int], bytes]) -> int:
    value = shift = 0
    while True:
        byte = read(1)
        if not byte or shift > 63:
            raise ValueError("truncated varint")
        value |= (byte[0] & 0x7F) << shift
        shift += 7
        if not byte[0] & 0x80:
            return value


def _fields(stream: BinaryIO, end: int, want: int) -> Iterator[tuple[int, bytes]]:
    """(field number, bytes) of the length-delimited fields numbered `want` of the protobuf
    message in `stream` up to `end`; every other field is skipped (seeked over), not read."""
    while stream.tell() < end:
        tag = _varint(stream.read)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise ValueError("field number 0")
        if wire == 0:
            _varint(stream.read)
            continue
        size = {1: 8, 5: 4}.get(wire)
        if size is None:
            if wire != 2:
                raise ValueError(f"wire type {wire}")
            size = _varint(stream.read)
        if stream.tell() + size > end:
            raise ValueError("a field runs past the end of the file")
        if number == want and wire == 2:
            yield number, stream.read(size)
        else:
            stream.seek(size, io.SEEK_CUR)
            if number == 7 and wire == 2:
                yield number, b""


def read_onnx_metadata(path: str | Path) -> dict[str, str]:
    """The metadata_props of an ONNX file, without reading its graph; UserError when the file
    is missing, empty or not an ONNX model."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} is a folder; expected an exported .onnx file (a checkpoint folder: "
                        "moadepth-edge export it first)")
    if not path.is_file():
        raise UserError(f"model not found: {path}")
    size = path.stat().st_size
    if size == 0:
        raise UserError(f"{path} is an empty file (0 bytes): re-export or copy it again")
    props: dict[str, str] = {}
    seen_graph = False
    try:
        with open(path, "rb") as f:
            for number, data in _fields(f, size, _METADATA_FIELD):
                if number == 7:  # ModelProto.graph, skipped
                    seen_graph = True
                    continue
                entry = dict(_fields(io.BytesIO(data), len(data), 1))
                value = dict(_fields(io.BytesIO(data), len(data), 2))
                props[entry.get(1, b"").decode("utf-8")] = value.get(2, b"").decode("utf-8")
        if not seen_graph:
            raise ValueError("it has no graph")
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{path.name} is not a readable ONNX model ({exc}); re-export it") from None
    return props


def read_artifact(path: str | Path) -> ModelArtifact:
    """The ModelArtifact of an exported ONNX file; UserError (one line) for anything unusable."""
    path = Path(path)
    props = read_onnx_metadata(path)
    try:
        return ModelArtifact.from_metadata_props(props)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UserError(f"{path.name}: {str(exc).strip().splitlines()[0]}") from None
