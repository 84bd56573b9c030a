"""ONNX Runtime backend: CPU by default, CUDA / TensorRT execution providers when installed.

`providers="auto"` uses CUDA when onnxruntime-gpu finds a GPU and the CPU otherwise. The
TensorRT execution provider builds engines when the session is created (minutes on a Jetson),
so it is used only when asked for (`providers="tensorrt"`), ideally with an engine cache folder
so the build happens once.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from ...formats.artifact import ModelArtifact, read_artifact
from ...errors import UserError
from .base import Backend

_PROVIDERS = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
}


class OnnxRuntimeBackend(Backend):
    """An exported `.onnx` model run by ONNX Runtime; its metadata_props give the artifact."""

    name: ClassVar[str] = "onnxruntime"
    suffixes: ClassVar[tuple[str, ...]] = (".onnx",)
    install_hint: ClassVar[str] = "pip install onnxruntime (or onnxruntime-gpu for CUDA/TensorRT)"

    def __init__(self, path: Path, artifact: ModelArtifact, session: Any) -> None:
        super().__init__(path, artifact)
        self.session = session
        self.input_name = session.get_inputs()[0].name
        self.output_name = artifact.output_name
        self.providers: list[str] = list(session.get_providers())

    @classmethod
    def available(cls) -> bool:
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            return False
        return True

    @classmethod
    def _open(
        cls,
        path: Path,
        providers: str | Sequence[str] = "auto",
        threads: int | None = None,
        device_id: int = 0,
        fp16: bool | None = None,
        engine_cache_dir: str | Path | None = None,
        timing_cache_dir: str | Path | None = None,
        **unused: Any,
    ) -> "OnnxRuntimeBackend":
        """Open `path`.

        providers: "auto", "cpu", "cuda", "tensorrt" or a list of them (most preferred first;
            the CPU is always the last fallback). threads: intra-op threads (None: ORT's default,
            one per core). fp16: TensorRT EP precision (default: the artifact's precision).
            engine_cache_dir / timing_cache_dir: TensorRT EP caches, created when missing.
        """
        if unused:
            raise UserError(f"unknown onnxruntime option(s): {', '.join(sorted(unused))}")
        artifact = read_artifact(path)  # a file that is no exported model fails before ORT parses it
        ort = _import_ort()
        names = resolve_providers(providers, ort.get_available_providers())
        provider_opts = []
        declared_fp16 = artifact.precision == "fp16"
        for name in names:
            if name == "TensorrtExecutionProvider":
                use_fp16 = declared_fp16 if fp16 is None else fp16
                provider_opts.append(
                    tensorrt_provider_options(device_id, use_fp16, engine_cache_dir, timing_cache_dir)
                )
            elif name == "CUDAExecutionProvider":
                provider_opts.append({"device_id": str(device_id)})
            else:
                provider_opts.append({})
        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = int(threads)
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            session = ort.InferenceSession(
                str(path), sess_options=so, providers=names, provider_options=provider_opts,
                disabled_optimizers=cpu_disabled_optimizers("fp16" if declared_fp16 else "fp32"),
            )
        except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... types
            raise UserError(f"ONNX Runtime cannot load {path.name}: {_first_line(exc)}") from None
        inputs = [i.name for i in session.get_inputs()]
        outputs = [o.name for o in session.get_outputs()]
        if artifact.output_name not in outputs:
            raise UserError(f"{path.name} has no output {artifact.output_name!r} (outputs: {outputs})")
        if len(inputs) != 1:
            raise UserError(f"{path.name} has {len(inputs)} inputs; a depth model takes one")
        artifact.check_graph_input(tuple(session.get_inputs()[0].shape), path.name)
        return cls(path, artifact, session)

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        (depth,) = self.session.run([self.output_name], {self.input_name: batch})
        return np.asarray(depth, dtype=np.float32)

    def close(self) -> None:
        self.session = None
        super().close()


def resolve_providers(requested: str | Sequence[str], available: Sequence[str]) -> list[str]:
    """Execution provider names for `requested`, CPU last; unavailable explicit choices fail."""
    if isinstance(requested, str):
        requested = [p.strip() for p in requested.split(",") if p.strip()]
    names: list[str] = []
    for req in requested:
        if req == "auto":
            if "CUDAExecutionProvider" in available:
                names.append("CUDAExecutionProvider")
            continue
        full = _PROVIDERS.get(req.lower(), req)
        if full not in available:
            raise UserError(
                f"execution provider {req!r} is not available (available: {', '.join(available)})"
            )
        names.append(full)
    names.append("CPUExecutionProvider")
    return list(dict.fromkeys(names))


def tensorrt_provider_options(
    device_id: int,
    fp16: bool,
    engine_cache_dir: str | Path | None,
    timing_cache_dir: str | Path | None,
) -> dict[str, str]:
    """TensorRT execution provider options (names from the ONNX Runtime TensorRT EP docs)."""
    opts = {"device_id": str(device_id), "trt_fp16_enable": str(bool(fp16))}
    for key, folder in (("engine", engine_cache_dir), ("timing", timing_cache_dir)):
        if folder is not None:
            Path(folder).mkdir(parents=True, exist_ok=True)
            opts[f"trt_{key}_cache_enable"] = "True"
            opts[f"trt_{key}_cache_path"] = str(folder)
    return opts


def cpu_disabled_optimizers(precision: str) -> list[str]:
    """ORT CPU graph optimizers to turn off for a model of `precision`: ONNX Runtime 1.32's
    NCHWc layout transformer crashes (segfault) on the FP16 graph at ORT_ENABLE_ALL."""
    return ["NchwcTransformer"] if precision == "fp16" else []


def _import_ort() -> Any:
    from ..._lazy import lazy_import

    return lazy_import("onnxruntime")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
