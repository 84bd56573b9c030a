"""TensorRT backend: runs a `.engine` written by `moadepth-edge build`.

Order of work: read the engine header and check it against this machine's TensorRT and GPU
(a mismatch is one line naming the rebuild command), then deserialize. I/O is by tensor name
(`num_io_tensors`, `set_input_shape`, `set_tensor_address`, `execute_async_v3`); copies go
through pinned host buffers on one CUDA stream (cuda-python, pycuda as a fallback). While the
input shape stays the same, the copy-in / execute / copy-out sequence is captured once into a
CUDA graph and replayed. No torch anywhere on this path.
"""
from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import numpy as np

from ..._lazy import lazy_import
from ...formats.artifact import ModelArtifact
from ...errors import IncompatibleEngine, UserError
from ...formats.engine_file import EngineHeader, RuntimeEnv, check_compatible, read_engine
from ..cuda_api import CudaError, load_cuda
from .base import Backend

if TYPE_CHECKING:
    import tensorrt as trt

log = logging.getLogger(__name__)
_LOGGER: list[Any] = []  # one trt.Logger per process, as TensorRT expects


@dataclass(frozen=True)
class TensorSpec:
    """One engine I/O tensor; -1 marks a dynamic dimension."""

    name: str
    is_input: bool
    shape: tuple[int, ...]
    dtype: np.dtype


def select_io(specs: Sequence[TensorSpec], artifact: ModelArtifact, engine_name: str) -> tuple[TensorSpec, TensorSpec]:
    """The engine's one input and the depth output, checked against the model's metadata."""
    inputs = [s for s in specs if s.is_input]
    if len(inputs) != 1:
        raise UserError(f"{engine_name} has {len(inputs)} inputs; a depth engine takes one")
    if inputs[0].name != artifact.input_name:
        raise UserError(f"{engine_name}: engine input {inputs[0].name!r} is not the model's "
                        f"{artifact.input_name!r}; rebuild it from the exported ONNX")
    outputs = [s for s in specs if not s.is_input and s.name == artifact.output_name]
    if not outputs:
        names = [s.name for s in specs if not s.is_input]
        raise UserError(f"{engine_name} has no output {artifact.output_name!r} (outputs: {names})")
    return inputs[0], outputs[0]


def check_in_profile(shape: Sequence[int], profile: Sequence[Sequence[int]], engine_name: str) -> None:
    """UserError unless min <= shape <= max in every dimension of the (min, opt, max) profile."""
    lo, _, hi = profile
    if len(shape) != len(lo) or any(not a <= s <= b for s, a, b in zip(shape, lo, hi)):
        raise UserError(f"input shape {tuple(shape)} is outside {engine_name}'s profile "
                        f"{tuple(lo)}..{tuple(hi)}; rebuild with a wider range (--batch, target profile)")


class TensorRTBackend(Backend):
    """A serialized TensorRT engine with its moadepth header."""

    name: ClassVar[str] = "tensorrt"
    suffixes: ClassVar[tuple[str, ...]] = (".engine", ".plan", ".trt")
    install_hint: ClassVar[str] = ("pip install 'moadepth-edge[trt]' (desktop GPU); on Jetson use "
                                   "JetPack's TensorRT (python3-libnvinfer) and pip install cuda-python")

    def __init__(self, path: Path, header: EngineHeader, runner: "_EngineRunner") -> None:
        super().__init__(path, header.artifact)
        self.header = header
        self.runner = runner

    @classmethod
    def available(cls) -> bool:
        has = lambda name: importlib.util.find_spec(name) is not None  # noqa: E731
        return has("tensorrt") and (has("cuda") or has("pycuda"))

    @classmethod
    def inspect(cls, path: Path) -> None:
        super().inspect(path)
        read_engine(path)  # header and plan size, readable without TensorRT

    @classmethod
    def _open(cls, path: Path, device: int = 0, cuda_graph: bool = True, **unused: Any) -> "TensorRTBackend":
        """Open `path` on GPU `device`; `cuda_graph=False` disables graph capture/replay."""
        if unused:
            raise UserError(f"unknown tensorrt option(s): {', '.join(sorted(unused))}")
        header, plan = read_engine(path)  # a bad file fails before TensorRT is imported
        trt = lazy_import("tensorrt")
        cuda = load_cuda()
        cuda.set_device(device)
        info = cuda.device_info(device)
        if not _LOGGER:
            _LOGGER.append(trt.Logger(trt.Logger.WARNING))
        runtime: trt.Runtime = trt.Runtime(_LOGGER[0])
        env = RuntimeEnv(trt.__version__, info.cuda_version, info.name, info.compute_capability,
                         info.integrated, int(runtime.num_DLA_cores))
        for warning in check_compatible(header, env, path.name):
            log.warning(warning)
        return cls(path, header, _EngineRunner(trt, runtime, plan, header, path.name, cuda, cuda_graph))

    @property
    def max_batch(self) -> int | None:
        """The batch maximum of the engine's optimisation profile (`build --batch`/`--streams`)."""
        return int(self.runner.profile[2][0])

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        return self.runner.run(batch)

    def close(self) -> None:
        if not self._closed:
            self.runner.close()
        super().close()


class _Buffer:
    """A device buffer and its pinned host mirror, grown on demand and viewed at any shape."""

    def __init__(self, cuda: Any) -> None:
        self.cuda, self.capacity, self.device, self.host = cuda, 0, 0, None

    def ensure(self, nbytes: int) -> None:
        if nbytes > self.capacity:
            self.release()
            self.device = self.cuda.malloc(nbytes)
            self.host = self.cuda.host_empty((nbytes,), np.uint8)
            self.capacity = nbytes

    def view(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        n = int(np.prod(shape)) * np.dtype(dtype).itemsize
        return self.host[:n].view(dtype).reshape(shape)

    def release(self) -> None:
        if self.capacity:
            self.cuda.free(self.device)
            self.cuda.host_free(self.host)
            self.capacity, self.device, self.host = 0, 0, None


class _EngineRunner:
    """Execution context, buffers, stream and the CUDA graph of one engine."""

    def __init__(self, trt: Any, runtime: "trt.Runtime", plan: bytes, header: EngineHeader,
                 engine_name: str, cuda: Any, use_graph: bool) -> None:
        if header.version_compatible:
            runtime.engine_host_code_allowed = True  # the plan carries its own lean runtime
        if header.dla_core is not None:
            runtime.DLA_core = header.dla_core
        engine: trt.ICudaEngine = runtime.deserialize_cuda_engine(plan)
        if engine is None:
            raise IncompatibleEngine(f"TensorRT could not deserialize {engine_name}: rebuild it here "
                                     f"with `{header.rebuild_hint(engine_name)}`")
        self.engine, self.cuda = engine, cuda
        self.context: trt.IExecutionContext = engine.create_execution_context()
        self.specs = [
            TensorSpec(name, engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT,
                       tuple(engine.get_tensor_shape(name)), np.dtype(trt.nptype(engine.get_tensor_dtype(name))))
            for name in (engine.get_tensor_name(i) for i in range(engine.num_io_tensors))
        ]
        self.inp, self.out = select_io(self.specs, header.artifact, engine_name)
        self.profile = [tuple(d) for d in engine.get_tensor_profile_shape(self.inp.name, 0)]
        self.engine_name = engine_name
        self.stream = cuda.stream_create()
        self.handle = cuda.stream_handle(self.stream)
        self.use_graph = use_graph and cuda.supports_graphs
        self.buffers = {s.name: _Buffer(cuda) for s in self.specs}
        self.shape: tuple[int, ...] | None = None
        self.host_in = self.host_out = np.empty(0)  # pinned views, set per input shape
        self.graph: Any = None  # executable CUDA graph for `self.shape`

    def run(self, batch: np.ndarray) -> np.ndarray:
        if batch.shape != self.shape:
            self._prepare(tuple(batch.shape))
        self.host_in[...] = batch  # casts when the engine's I/O is fp16
        if self.graph is not None:
            self.cuda.graph_launch(self.graph, self.stream)
        else:
            self._enqueue()
        self.cuda.stream_sync(self.stream)
        depth = self.host_out.astype(np.float32, copy=True)
        if self.use_graph and self.graph is None:
            self._capture()  # after one plain run at this shape, as TensorRT requires
        return depth

    def _prepare(self, shape: tuple[int, ...]) -> None:
        check_in_profile(shape, self.profile, self.engine_name)
        self._drop_graph()
        if not self.context.set_input_shape(self.inp.name, shape):
            raise UserError(f"{self.engine_name} rejected input shape {shape}")
        for spec in self.specs:
            dims = shape if spec.is_input else tuple(self.context.get_tensor_shape(spec.name))
            buf = self.buffers[spec.name]
            buf.ensure(int(np.prod(dims)) * spec.dtype.itemsize)
            self.context.set_tensor_address(spec.name, buf.device)
            if spec is self.inp:
                self.host_in = buf.view(dims, spec.dtype)
            elif spec is self.out:
                self.host_out = buf.view(dims, spec.dtype)
        self.shape = shape

    def _enqueue(self) -> None:
        self.cuda.htod_async(self.buffers[self.inp.name].device, self.host_in, self.stream)
        if not self.context.execute_async_v3(self.handle):
            raise RuntimeError(f"TensorRT failed to execute {self.engine_name}")
        self.cuda.dtoh_async(self.host_out, self.buffers[self.out.name].device, self.stream)

    def _capture(self) -> None:
        try:
            self.cuda.begin_capture(self.stream)
            try:
                self._enqueue()
            finally:
                graph = self.cuda.end_capture(self.stream)
        except (CudaError, RuntimeError) as exc:  # e.g. DLA or plugins that cannot be captured
            log.warning("CUDA graph capture failed for %s (%s); running without graphs", self.engine_name, exc)
            self.use_graph = False
            return
        self.graph = graph

    def _drop_graph(self) -> None:
        if self.graph is not None:
            self.cuda.graph_destroy(self.graph)
            self.graph = None

    def close(self) -> None:
        self._drop_graph()
        self.cuda.stream_sync(self.stream)
        for buf in self.buffers.values():
            buf.release()
        self.cuda.stream_destroy(self.stream)
        self.context = self.engine = None
        self.cuda.close()
