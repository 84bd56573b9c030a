"""The few CUDA runtime calls the TensorRT runner needs: device info, a stream, device buffers,
pinned host buffers, async copies and CUDA-graph capture/replay.

Backed by cuda-python (`cuda.bindings.runtime`, or `cuda.cudart` on cuda-python < 12.6) and,
only when that is missing, by pycuda (no CUDA graphs there). Imported lazily; no torch.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import MissingDependency

INSTALL_HINT = "pip install cuda-python (or pycuda)"


class CudaError(RuntimeError):
    """A CUDA runtime call failed (a device problem, not a user mistake)."""


@dataclass(frozen=True)
class DeviceInfo:
    """The GPU an engine is built on or runs on."""

    name: str
    compute_capability: tuple[int, int]
    integrated: bool  # Jetson: GPU and CPU share memory
    cuda_version: str  # CUDA runtime version, "12.6"


class CudaPython:
    """cuda-python's runtime API. Every call returns (error, *values); `_call` unpacks it."""

    name = "cuda-python"
    supports_graphs = True

    def __init__(self, cudart: Any) -> None:
        self.rt = cudart

    def _call(self, result: Any) -> Any:
        err, *values = result
        if int(err) != 0:
            _, name = self.rt.cudaGetErrorName(err)
            raise CudaError(f"CUDA error {name.decode() if isinstance(name, bytes) else name}")
        return values[0] if len(values) == 1 else tuple(values) or None

    def device_info(self, device: int) -> DeviceInfo:
        props = self._call(self.rt.cudaGetDeviceProperties(device))
        version = self._call(self.rt.cudaRuntimeGetVersion())
        name = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
        return DeviceInfo(name.split("\x00")[0], (int(props.major), int(props.minor)),
                          bool(props.integrated), _cuda_version(int(version)))

    def set_device(self, device: int) -> None:
        self._call(self.rt.cudaSetDevice(device))

    def stream_create(self) -> Any:
        return self._call(self.rt.cudaStreamCreateWithFlags(self.rt.cudaStreamNonBlocking))

    def stream_sync(self, stream: Any) -> None:
        self._call(self.rt.cudaStreamSynchronize(stream))

    def stream_destroy(self, stream: Any) -> None:
        self._call(self.rt.cudaStreamDestroy(stream))

    def malloc(self, nbytes: int) -> int:
        return int(self._call(self.rt.cudaMalloc(nbytes)))

    def free(self, ptr: int) -> None:
        self._call(self.rt.cudaFree(ptr))

    def host_empty(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """A numpy array in pinned (page-locked) host memory; free it with `host_free`."""
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        ptr = int(self._call(self.rt.cudaMallocHost(max(1, nbytes))))
        raw = (ctypes.c_uint8 * max(1, nbytes)).from_address(ptr)
        return np.frombuffer(raw, np.uint8, count=nbytes).view(dtype).reshape(shape)

    def host_free(self, array: np.ndarray) -> None:
        self._call(self.rt.cudaFreeHost(array.ctypes.data))

    def htod_async(self, dst: int, src: np.ndarray, stream: Any) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        self._call(self.rt.cudaMemcpyAsync(dst, src.ctypes.data, src.nbytes, kind, stream))

    def dtoh_async(self, dst: np.ndarray, src: int, stream: Any) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        self._call(self.rt.cudaMemcpyAsync(dst.ctypes.data, src, dst.nbytes, kind, stream))

    def stream_handle(self, stream: Any) -> int:
        return int(stream)

    # -- CUDA graphs ------------------------------------------------------------------------
    def begin_capture(self, stream: Any) -> None:
        mode = self.rt.cudaStreamCaptureMode.cudaStreamCaptureModeThreadLocal
        self._call(self.rt.cudaStreamBeginCapture(stream, mode))

    def end_capture(self, stream: Any) -> Any:
        """Ends capture and returns an executable graph (the captured graph itself is freed)."""
        graph = self._call(self.rt.cudaStreamEndCapture(stream))
        try:
            return self._call(self.rt.cudaGraphInstantiate(graph, 0))
        finally:
            self._call(self.rt.cudaGraphDestroy(graph))

    def graph_launch(self, graph_exec: Any, stream: Any) -> None:
        self._call(self.rt.cudaGraphLaunch(graph_exec, stream))

    def graph_destroy(self, graph_exec: Any) -> None:
        self._call(self.rt.cudaGraphExecDestroy(graph_exec))

    def close(self) -> None:
        pass  # the runtime API needs no teardown


class PyCuda:
    """pycuda's driver API on the device's primary context (what TensorRT uses). No graphs."""

    name = "pycuda"
    supports_graphs = False

    def __init__(self, driver: Any) -> None:
        self.drv = driver
        self.drv.init()
        self._ctx = None
        self._arrays: dict[int, Any] = {}

    def device_info(self, device: int) -> DeviceInfo:
        dev = self.drv.Device(device)
        major, minor = dev.compute_capability()
        integrated = bool(dev.get_attribute(self.drv.device_attribute.INTEGRATED))
        version = ".".join(str(v) for v in self.drv.get_version()[:2])
        return DeviceInfo(dev.name(), (int(major), int(minor)), integrated, version)

    def set_device(self, device: int) -> None:
        if self._ctx is None:
            self._ctx = self.drv.Device(device).retain_primary_context()
            self._ctx.push()

    def stream_create(self) -> Any:
        return self.drv.Stream()

    def stream_sync(self, stream: Any) -> None:
        stream.synchronize()

    def stream_destroy(self, stream: Any) -> None:
        pass  # freed with the Python object

    def malloc(self, nbytes: int) -> int:
        alloc = self.drv.mem_alloc(max(1, nbytes))
        self._arrays[int(alloc)] = alloc
        return int(alloc)

    def free(self, ptr: int) -> None:
        alloc = self._arrays.pop(ptr, None)
        if alloc is not None:
            alloc.free()

    def host_empty(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        return self.drv.pagelocked_empty(shape, dtype)

    def host_free(self, array: np.ndarray) -> None:
        pass  # freed with the array

    def htod_async(self, dst: int, src: np.ndarray, stream: Any) -> None:
        self.drv.memcpy_htod_async(dst, src, stream)

    def dtoh_async(self, dst: np.ndarray, src: int, stream: Any) -> None:
        self.drv.memcpy_dtoh_async(dst, src, stream)

    def stream_handle(self, stream: Any) -> int:
        return int(stream.handle)

    def close(self) -> None:
        if self._ctx is not None:
            self._ctx.pop()
            self._ctx = None


def load_cuda() -> CudaPython | PyCuda:
    """cuda-python if installed, else pycuda; MissingDependency naming both otherwise."""
    try:
        from cuda.bindings import runtime as cudart  # cuda-python >= 12.6.1
    except ImportError:
        try:
            from cuda import cudart  # cuda-python 12.x before the cuda.bindings layout
        except ImportError:
            cudart = None
    if cudart is not None:
        return CudaPython(cudart)
    try:
        import pycuda.driver as driver
    except ImportError:
        raise MissingDependency(f"neither cuda-python nor pycuda is installed; install one: {INSTALL_HINT}") from None
    return PyCuda(driver)


def _cuda_version(code: int) -> str:
    """12060 -> '12.6' (the runtime reports 1000 * major + 10 * minor)."""
    return f"{code // 1000}.{(code % 1000) // 10}"
