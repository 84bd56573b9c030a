"""The machine a report was recorded on: CPU, GPU, driver, CUDA, TensorRT, ONNX Runtime,
package versions, and on Jetson the L4T release and power mode.

Every probe is best-effort: a missing tool leaves its field None, never an error, because a
report from a machine without (say) nvidia-smi is still a valid report.
"""
from __future__ import annotations

import importlib.metadata as md
import os
import platform
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psutil

from .. import __version__

_PACKAGES = ("numpy", "opencv-python-headless", "opencv-python", "onnx", "onnxruntime",
             "onnxruntime-gpu", "tensorrt", "cuda-python", "torch", "torchvision", "open_clip_torch")
_TEGRA_RELEASE = Path("/etc/nv_tegra_release")
_DT_MODEL = Path("/proc/device-tree/model")


def _run(cmd: list[str], timeout: float = 10.0) -> str | None:
    if not shutil.which(cmd[0]):
        return None
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (x86 `model name`, or the SoC on ARM)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    for key in ("model name", "Hardware", "cpu model"):
        m = re.search(rf"^{key}\s*:\s*(.+)$", text, re.MULTILINE)
        if m:
            return m.group(1).strip()
    return platform.processor() or platform.machine()


def parse_tegra_release(text: str) -> str | None:
    """`# R36 (release), REVISION: 3.0, ...` -> "R36.3.0" (the L4T release)."""
    m = re.search(r"#\s*R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", text)
    return f"R{m.group(1)}.{m.group(2)}" if m else None


# L4T -> JetPack for the releases this project supports (NVIDIA's JetPack archive)
_JETPACK = {"R35.4.1": "5.1.2", "R35.5.0": "5.1.3", "R35.6.0": "5.1.4", "R36.2.0": "6.0 DP",
            "R36.3.0": "6.0", "R36.4.0": "6.1", "R36.4.3": "6.2", "R36.4.4": "6.2.1"}


def jetson_info() -> dict[str, Any] | None:
    """L4T release, JetPack, board model and power mode on a Jetson; None elsewhere."""
    if not _TEGRA_RELEASE.exists():
        return None
    l4t = parse_tegra_release(_TEGRA_RELEASE.read_text(errors="replace"))
    mode = _run(["nvpmodel", "-q"])
    return {
        "l4t": l4t,
        "jetpack": _JETPACK.get(l4t or ""),
        "board": _DT_MODEL.read_text(errors="replace").strip("\x00\n ") if _DT_MODEL.exists() else None,
        "power_mode": parse_nvpmodel(mode) if mode else None,
    }


def parse_nvpmodel(text: str) -> str | None:
    """`NV Power Mode: MAXN\\n0` -> "MAXN (mode 0)"."""
    m = re.search(r"NV Power Mode:\s*(\S+)", text)
    if not m:
        return None
    num = re.search(r"^\s*(\d+)\s*$", text, re.MULTILINE)
    return f"{m.group(1)} (mode {num.group(1)})" if num else m.group(1)


def gpu_info() -> dict[str, Any] | None:
    """Name, driver, memory, compute capability and CUDA version of GPU 0 from nvidia-smi;
    None without one. (compute_cap is a newer query field; older drivers leave it None.)"""
    out = _run(["nvidia-smi", "--id=0", "--query-gpu=name,driver_version,memory.total",
                "--format=csv,noheader,nounits"])
    if not out:
        return None
    name, driver, mem = [s.strip() for s in out.splitlines()[0].split(",")][:3]
    cap = _run(["nvidia-smi", "--id=0", "--query-gpu=compute_cap", "--format=csv,noheader"])
    cuda = re.search(r"CUDA Version:\s*([\d.]+)", _run(["nvidia-smi"]) or "")
    memory = float(mem) if mem.replace(".", "").isdigit() else None  # "[N/A]" on a Jetson
    return {"name": name, "driver": driver, "memory_mb": memory,
            "compute_capability": cap.splitlines()[0].strip() if cap else None,
            "cuda_driver_api": cuda.group(1) if cuda else None}


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a depth deployment depends on."""
    versions = {"moadepth-edge": __version__}
    for name in _PACKAGES:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return versions


def onnxruntime_providers() -> list[str]:
    try:
        import onnxruntime as ort
    except ImportError:
        return []
    return list(ort.get_available_providers())


def tensorrt_version() -> str | None:
    try:
        import tensorrt as trt  # JetPack ships it outside pip; import, do not ask the metadata
    except ImportError:
        return None
    return str(trt.__version__)


def cuda_runtime_version() -> str | None:
    """The CUDA toolkit on the machine (`nvcc --version`), else None."""
    out = _run(["nvcc", "--version"])
    m = re.search(r"release ([\d.]+)", out or "")
    return m.group(1) if m else None


def system_info() -> dict[str, Any]:
    """Everything a reader needs to reproduce a report's numbers on the same machine."""
    freq = psutil.cpu_freq()
    return {
        "hostname": platform.node(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "cpu_cores_physical": psutil.cpu_count(logical=False),
        "cpu_cores_logical": psutil.cpu_count(logical=True),
        "cpu_max_mhz": round(freq.max, 1) if freq and freq.max else None,
        "ram_mb": round(psutil.virtual_memory().total / 2**20, 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "gpu": gpu_info(),
        "cuda_toolkit": cuda_runtime_version(),
        "tensorrt": tensorrt_version(),
        "onnxruntime_providers": onnxruntime_providers(),
        "jetson": jetson_info(),
        "packages": package_versions(),
    }


def device_slug(info: dict[str, Any]) -> str:
    """A folder name for a device's reports: Jetson board, else GPU, else CPU model."""
    jetson = info.get("jetson") or {}
    name = jetson.get("board") or (info.get("gpu") or {}).get("name") or f"cpu {info.get('cpu', '')}"
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "unknown"
