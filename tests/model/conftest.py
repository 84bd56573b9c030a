from __future__ import annotations

import pytest
import torch

from moadepth_edge.config import get_preset
from moadepth_edge.model import build_model


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_model(get_preset("moadepth-tiny"))
