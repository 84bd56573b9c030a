"""The contract an exported model carries: config, preprocessing, provenance.

Stored as ONNX metadata_props under the single key `moadepth` (a JSON object), copied into the
TensorRT engine header, and read by the runtime. Torch-free.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from . import __version__
from .config import ModelCfg, PreprocessCfg, from_dict, to_dict
from .errors import UserError

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
    preprocess: PreprocessCfg
    precision: Literal["fp32", "fp16", "int8"] = "fp32"
    input_kind: Literal["image", "frame"] = "image"
    input_name: str = "image"
    output_name: str = "depth"
    checkpoint_sha256: str = ""
    package_version: str = __version__
    dynamic_batch: bool = True
    dynamic_hw: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        data = {
            "format_version": FORMAT_VERSION,
            "model_cfg": to_dict(self.model_cfg),
            "preprocess": to_dict(self.preprocess),
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
        data["preprocess"] = from_dict(PreprocessCfg, data["preprocess"])
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
