"""The torch device a `--device` name means, refused in one line where it is not there."""
from __future__ import annotations

import torch

from ..errors import UserError
from .run_spec import DEVICE_NAMES


def pick_device(name: str, local_rank: int | None = None) -> torch.device:
    """auto (CUDA when present, else CPU) | cpu | cuda | cuda:N; `local_rank` picks the GPU of
    a torchrun process for plain "cuda"."""
    if DEVICE_NAMES.fullmatch(name) is None:
        raise UserError(f"--device must be auto, cpu, cuda or cuda:N, got {name!r}")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(name[5:]) if ":" in name else (local_rank or 0)
        if index >= count:
            have = f"{count} CUDA device(s)" if count else "no CUDA device"
            raise UserError(f"--device {name}: this machine has {have}")
        if name == "cuda" and local_rank is not None:
            name = f"cuda:{local_rank}"
    return torch.device(name)
