"""Shared fixtures. Real sample data lives in ../shared/data beside the clone; tests that need
it skip cleanly where it is absent (a user's clone)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MOADEPTH_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real NYU and KITTI samples), or skip."""
    if not (SHARED_DATA / "nyu_samples").is_dir():
        pytest.skip(f"sample data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session", autouse=True)
def _few_threads():
    """CI has 2 cores; keep torch from oversubscribing them."""
    try:
        import torch
    except ImportError:
        yield
        return
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    yield
