"""Memory: the sampled host RSS peak sees transient allocations; GPU tool parsers; file sizes."""
from __future__ import annotations

import shutil
import time

import numpy as np
import pytest

from moadepth_edge.bench.memory import (PeakSampler, file_size_mb, open_gpu_probe, parse_nvidia_smi,
                                        parse_tegrastats)


def test_rss_peak_catches_a_freed_allocation():
    with PeakSampler(interval=0.005) as sampler:
        block = np.ones(200 * 2**20, dtype=np.uint8)  # 200 MiB, touched
        time.sleep(0.1)
        del block
    peak = sampler.result
    assert peak is not None
    assert peak.host_rss_peak_mb - peak.host_rss_before_mb > 150
    assert peak.gpu_mem_peak_mb is None and peak.gpu_mem_source is None


def test_tegrastats_line():
    line = ("RAM 2302/7620MB (lfb 2x4MB) SWAP 0/3810MB (cached 0MB) CPU [2%@729,1%@729] "
            "EMC_FREQ 0% GR3D_FREQ 0% cpu@45.5C")
    assert parse_tegrastats(line) == 2302.0
    assert parse_tegrastats("no memory here") is None


def test_nvidia_smi_line():
    assert parse_nvidia_smi("1536\n") == 1536.0
    assert parse_nvidia_smi("[N/A]") is None


def test_file_and_folder_sizes(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"x" * 2**20)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.bin").write_bytes(b"x" * 2**19)
    assert file_size_mb(tmp_path / "a.bin") == 1.0
    assert file_size_mb(tmp_path) == 1.5


@pytest.mark.gpu
def test_gpu_probe_reads_used_memory():
    if not shutil.which("nvidia-smi") and not shutil.which("tegrastats"):
        pytest.skip("no GPU monitoring tool on this machine")
    probe = open_gpu_probe()
    assert probe is not None
    try:
        deadline = time.time() + 3
        while probe.read() is None and time.time() < deadline:
            time.sleep(0.05)
        assert probe.read() is not None and probe.read() > 0
    finally:
        probe.close()
