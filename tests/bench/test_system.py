"""System information: what this machine is, and the Jetson-only parsers."""
from __future__ import annotations

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
