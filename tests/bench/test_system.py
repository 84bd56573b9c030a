"""System information: what this machine is, and the Jetson-only parsers."""
from __future__ import annotations

import os
import time
from pathlib import Path

import onnxruntime

from moadepth_edge.bench.system import (device_slug, parse_nvpmodel, parse_tegra_release,
                                        system_info)


def test_system_info_describes_this_machine():
    info = system_info()
    assert info["cpu"] and info["cpu_cores_logical"] >= 1
    assert info["packages"]["onnxruntime"] == onnxruntime.__version__
    assert "CPUExecutionProvider" in info["onnxruntime_providers"]
    if not Path("/etc/nv_tegra_release").exists():
        assert info["jetson"] is None


def test_l4t_release_and_power_mode():
    text = "# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64, DATE: Wed Jan  8"
    assert parse_tegra_release(text) == "R36.4.3"
    assert parse_tegra_release("garbage") is None
    assert parse_nvpmodel("NV Power Mode: MAXN\n0\n") == "MAXN (mode 0)"
    assert parse_nvpmodel("NV Power Mode: 15W\n") == "15W"


def test_device_slug_prefers_jetson_then_gpu_then_cpu():
    assert device_slug({"jetson": {"board": "NVIDIA Jetson Orin Nano Developer Kit"}}) == \
        "nvidia-jetson-orin-nano-developer-kit"
    assert device_slug({"gpu": {"name": "NVIDIA GeForce RTX 4090"}}) == "nvidia-geforce-rtx-4090"
    assert device_slug({"cpu": "AMD EPYC 7763 64-Core Processor"}) == "cpu-amd-epyc-7763-64-core-processor"


FAKE_SMI = """#!/bin/sh
# stands in for the driver's tool on a machine without a GPU: the output format of nvidia-smi 550
case "$*" in
  *compute_cap*) echo "8.9" ;;
  *name,driver_version*) echo "NVIDIA GeForce RTX 4090, 550.54.14, 24564" ;;
  *memory.used*-lms*) while true; do echo "1234"; sleep 0.05; done ;;
  *) echo "| NVIDIA-SMI 550.54.14    Driver Version: 550.54.14    CUDA Version: 12.4 |" ;;
esac
"""


def test_gpu_fields_from_nvidia_smi_output(tmp_path, monkeypatch):
    from moadepth_edge.bench import memory
    from moadepth_edge.bench.system import gpu_info

    smi = tmp_path / "nvidia-smi"
    smi.write_text(FAKE_SMI)
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    assert gpu_info() == {"name": "NVIDIA GeForce RTX 4090", "driver": "550.54.14", "memory_mb": 24564.0,
                          "compute_capability": "8.9", "cuda_driver_api": "12.4"}
    monkeypatch.setattr(memory, "NvmlProbe", None)  # calling it fails: the nvidia-smi fallback is used
    monkeypatch.setattr(memory, "_TEGRA_RELEASE", tmp_path / "absent")
    probe = memory.open_gpu_probe()
    assert probe is not None and probe.source == "nvidia-smi"
    try:
        with memory.PeakSampler(probe, interval=0.01) as sampler:
            time.sleep(0.3)
    finally:
        probe.close()
    assert sampler.result.gpu_mem_peak_mb == 1234.0
