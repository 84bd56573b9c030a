"""RunSpec: what a training run reads and writes beyond TrainCfg (data, evaluation, logging,
device); saved in every run checkpoint (config.json extra.run) and read back, checked, on
resume."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config_types import at_least, require
from ..data.sample import DepthReader
from ..data.spec import open_reader

DEVICE_NAMES = re.compile(r"auto|cpu|cuda(:\d+)?")
MAX_SYNTHETIC_SIDE = 4096


@dataclass
class RunSpec:
    """What a run reads and writes, beyond TrainCfg; saved in every checkpoint (extra.run)."""

    out: str
    data: str = "synthetic"
    eval_data: str | None = None  # default: the data's held-out / test split where it has one
    eval_limit: int | None = 64
    data_root: str | None = None
    eval_data_root: str | None = None  # default: data_root
    depth_scale: float | None = None
    synthetic_size: tuple[int, int] = (120, 160)
    train_all: bool = False  # unfreeze the whole ViT (a departure from the paper; see README)
    augment: bool = True
    augment_input: bool = False  # blur, texture, contrast, grain and erasing at the model input (transforms.INPUT_PHOTOMETRY)
    cache: bool = False  # keep decoded samples in memory (small / procedural data sets)
    save_every: int = 0  # also checkpoint every N steps (0: once per epoch)
    log_every: int = 10
    eval_before: bool = True  # score the untrained model first, for a before/after
    device: str = "auto"
    progress: bool = True
    extra_env: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        require(bool(self.data.strip()), "data", "must not be empty")
        require(self.eval_limit is None or self.eval_limit >= 1, "eval_limit",
                f"must be >= 1 (or none for all), got {self.eval_limit!r}")
        require(self.depth_scale is None or self.depth_scale > 0, "depth_scale",
                f"must be > 0, got {self.depth_scale!r}")
        require(all(1 <= v <= MAX_SYNTHETIC_SIDE for v in self.synthetic_size), "synthetic_size",
                f"height and width must be 1..{MAX_SYNTHETIC_SIDE}, got "
                f"{'x'.join(str(v) for v in self.synthetic_size)}")
        at_least(self, "save_every", 0)
        at_least(self, "log_every", 1)
        require(DEVICE_NAMES.fullmatch(self.device) is not None, "device",
                f"must be auto, cpu, cuda or cuda:N, got {self.device!r}")


def heldout_reader(run: RunSpec, seed: int) -> DepthReader | None:
    """The held-out data a run scores itself on: --eval-data, else the data's own test split
    where it has one (synthetic, an NYU folder or .mat), else None."""
    if run.eval_data:
        spec = run.eval_data
    elif run.data.startswith("synthetic"):
        spec = f"synthetic:{run.eval_limit or 64}"
    elif run.data.startswith("nyu:") and (Path(run.data[4:]).is_dir() or run.data.endswith(".mat")):
        spec = run.data
    else:
        return None  # no known held-out split: pass --eval-data
    root = run.eval_data_root or (None if run.eval_data else run.data_root)
    return open_reader(spec, "test", root=root, depth_scale=run.depth_scale,
                       synthetic_size=run.synthetic_size, seed=seed)
