"""A Triton Inference Server model repository for an exported model (`--format triton`).

    REPO/NAME/config.pbtxt
    REPO/NAME/1/model.onnx       backend "onnxruntime"
    REPO/NAME/1/model.plan       platform "tensorrt_plan" (given an engine: its plan, without
                                 our JSON header, which Triton would not read)

Batching follows the model: a dynamic batch axis becomes `max_batch_size` with dynamic
batching, and the dims listed in config.pbtxt exclude it (Triton's convention). The model's
ModelArtifact goes into `parameters` so a client can read the preprocessing contract.
Torch-free.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..formats.artifact import ModelArtifact, read_artifact
from ..errors import UserError
from ..outputs import staged_dir

VERSION = "1"


def _dims(artifact: ModelArtifact) -> tuple[list[int], list[int], str]:
    """(input dims, output dims, input type) without the batch axis; -1 is dynamic."""
    h, w = artifact.preprocess.size
    if artifact.input_kind == "frame":
        return [-1, -1, 3], [1, -1, -1], "TYPE_UINT8"
    if artifact.dynamic_hw:
        return [3, -1, -1], [1, -1, -1], "TYPE_FP32"
    return [3, h, w], [1, h, w], "TYPE_FP32"


def config_pbtxt(name: str, artifact: ModelArtifact, backend: str, max_batch_size: int,
                 gpu: bool = True) -> str:
    """The text of config.pbtxt. backend: "onnxruntime" or "tensorrt"."""
    in_dims, out_dims, in_type = _dims(artifact)
    batch = max_batch_size if artifact.dynamic_batch else 0
    if not artifact.dynamic_batch:  # the batch axis is part of the dims
        in_dims, out_dims = [1, *in_dims], [1, *out_dims]
    lines = [f'name: "{name}"']
    if backend == "onnxruntime":
        lines += ['backend: "onnxruntime"', 'default_model_filename: "model.onnx"']
    elif backend == "tensorrt":
        lines += ['platform: "tensorrt_plan"', 'default_model_filename: "model.plan"']
    else:
        raise ValueError(f"unknown Triton backend {backend!r}")
    lines += [
        f"max_batch_size: {batch}",
        "input [",
        f'  {{ name: "{artifact.input_name}" data_type: {in_type} dims: {in_dims} }}',
        "]",
        "output [",
        f'  {{ name: "{artifact.output_name}" data_type: TYPE_FP32 dims: {out_dims} }}',
        "]",
        f"instance_group [ {{ kind: {'KIND_GPU' if gpu else 'KIND_CPU'} count: 1 }} ]",
    ]
    if batch:
        lines.append("dynamic_batching { }")
    meta = json.dumps(artifact.to_json())  # a JSON string, quoted and escaped for protobuf text
    lines.append(f'parameters {{ key: "moadepth" value: {{ string_value: {meta} }} }}')
    return "\n".join(lines) + "\n"


def write_triton_repository(
    repo: str | Path,
    onnx_path: str | Path,
    *,
    name: str = "moadepth",
    engine: str | Path | None = None,
    max_batch_size: int = 8,
    gpu: bool = True,
) -> Path:
    """Write REPO/NAME for the ONNX model (or, given `engine`, its TensorRT plan); returns
    the model folder. An existing model folder of that name is replaced."""
    repo, onnx_path = Path(repo), Path(onnx_path)
    if not name or "/" in name or name in (".", ".."):
        raise UserError(f"invalid Triton model name {name!r}")
    if engine is not None:
        from ..formats.engine_file import read_engine

        header, plan = read_engine(engine)
        artifact, backend = header.artifact, "tensorrt"
        batch_max = header.profile.get(artifact.input_name, {}).get("max", [max_batch_size])[0]
        max_batch_size = min(max_batch_size, int(batch_max)) if artifact.dynamic_batch else 0
    else:
        artifact, backend, plan = read_artifact(onnx_path), "onnxruntime", None
    folder = repo / name
    with staged_dir(folder) as tmp:  # a failed write leaves the previous model folder intact
        (tmp / VERSION).mkdir(parents=True)
        if plan is not None:
            (tmp / VERSION / "model.plan").write_bytes(plan)
        else:
            shutil.copyfile(onnx_path, tmp / VERSION / "model.onnx")
        (tmp / "config.pbtxt").write_text(config_pbtxt(name, artifact, backend, max_batch_size, gpu))
    return folder
