"""Memory during a benchmark: host RSS peak, GPU memory where a GPU exists, model file size.

Peaks are sampled on a background thread (a single reading after the run misses transient
allocations such as TensorRT's build/activation buffers). GPU memory comes from whatever the
device offers, tried lazily in this order: tegrastats (Jetson: RAM shared by CPU and GPU),
NVML (`pynvml`, from nvidia-ml-py), `nvidia-smi` in loop mode. All readings are device-wide
used memory in MiB; the report keeps the value before the run, so the difference is ours.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import psutil

MB = 1024 * 1024
_TEGRA_RELEASE = Path("/etc/nv_tegra_release")


@dataclass(frozen=True)
class MemoryPeak:
    host_rss_before_mb: float
    host_rss_peak_mb: float
    gpu_mem_before_mb: float | None
    gpu_mem_peak_mb: float | None
    gpu_mem_source: str | None


class GpuProbe(Protocol):
    source: str

    def read(self) -> float | None: ...

    def close(self) -> None: ...


class NvmlProbe:
    """Device-wide used memory of GPU `index` through NVML."""

    source = "nvml"

    def __init__(self, index: int = 0) -> None:
        import pynvml  # nvidia-ml-py; optional, callers catch ImportError

        pynvml.nvmlInit()
        self._nvml = pynvml
        self._handle = pynvml.nvmlDeviceGetHandleByIndex(index)

    def read(self) -> float | None:
        return self._nvml.nvmlDeviceGetMemoryInfo(self._handle).used / MB

    def close(self) -> None:
        self._nvml.nvmlShutdown()


class StreamProbe:
    """A monitoring command that prints one line per interval; keeps the latest parsed value."""

    def __init__(self, cmd: list[str], parse: Callable[[str], float | None], source: str) -> None:
        self.source = source
        self._parse = parse
        self._latest: float | None = None
        self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            value = self._parse(line)
            if value is not None:
                self._latest = value

    def read(self) -> float | None:
        return self._latest

    def close(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self._proc.kill()


_TEGRA_RAM = re.compile(r"\bRAM (\d+)/(\d+)MB")


def parse_tegrastats(line: str) -> float | None:
    """Used RAM in MiB from a tegrastats line (`RAM 2302/7620MB (lfb 2x4MB) ...`)."""
    m = _TEGRA_RAM.search(line)
    return float(m.group(1)) if m else None


def parse_nvidia_smi(line: str) -> float | None:
    """Used MiB from `nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits`."""
    try:
        return float(line.strip().split(",")[0])
    except ValueError:
        return None


def open_gpu_probe(index: int = 0) -> GpuProbe | None:
    """The first GPU memory source this machine offers, or None (no GPU / no tool)."""
    if _TEGRA_RELEASE.exists() and shutil.which("tegrastats"):
        return StreamProbe(["tegrastats", "--interval", "100"], parse_tegrastats,
                           "tegrastats RAM (shared by CPU and GPU)")
    try:
        return NvmlProbe(index)
    except Exception:  # pynvml missing, or no driver / no GPU
        pass
    if shutil.which("nvidia-smi"):
        cmd = ["nvidia-smi", f"--id={index}", "--query-gpu=memory.used",
               "--format=csv,noheader,nounits", "-lms", "100"]
        return StreamProbe(cmd, parse_nvidia_smi, "nvidia-smi")
    return None


class PeakSampler:
    """Context manager sampling host RSS (this process) and GPU memory every `interval` s."""

    def __init__(self, gpu: GpuProbe | None = None, interval: float = 0.02) -> None:
        self._gpu = gpu
        self._interval = interval
        self._proc = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.result: MemoryPeak | None = None

    def _sample(self) -> None:
        self._rss_peak = max(self._rss_peak, self._proc.memory_info().rss)
        if self._gpu is not None and (v := self._gpu.read()) is not None:
            self._gpu_peak = v if self._gpu_peak is None else max(self._gpu_peak, v)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def __enter__(self) -> "PeakSampler":
        self._rss_before = self._rss_peak = self._proc.memory_info().rss
        self._gpu_before = self._gpu.read() if self._gpu is not None else None
        self._gpu_peak = self._gpu_before
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        r = lambda v: None if v is None else round(v, 1)  # noqa: E731
        self.result = MemoryPeak(
            host_rss_before_mb=r(self._rss_before / MB), host_rss_peak_mb=r(self._rss_peak / MB),
            gpu_mem_before_mb=r(self._gpu_before), gpu_mem_peak_mb=r(self._gpu_peak),
            gpu_mem_source=self._gpu.source if self._gpu is not None else None,
        )


def file_size_mb(path: str | Path) -> float:
    """Size of a model file, or of all files in a folder (a PyTorch checkpoint), in MiB."""
    p = Path(path)
    total = sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else p.stat().st_size
    return round(total / MB, 3)
