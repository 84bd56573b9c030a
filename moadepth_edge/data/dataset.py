"""The torch Dataset over any reader: augmentation, then the model input by the one
preprocessing definition (formats/preprocess.py), with depth and mask resized alongside.

Each item's randomness comes from a generator seeded by (seed, epoch, index): an epoch is
the same whatever the worker count, and a resumed run sees the batches it would have seen.
"""
from __future__ import annotations

import ctypes
import sys
from typing import Any

import numpy as np

from .._lazy import lazy_import
from ..config import PreprocessCfg
from ..formats.preprocess import focal_ratio, input_focal, rgb_to_input
from .sample import DepthReader, Sample
from .transforms import Augment, resize_sample

torch = lazy_import("torch")
M_MMAP_THRESHOLD = -3  # glibc mallopt parameter


def fix_mmap_threshold(limit: int = 128 * 1024) -> bool:
    """Keep glibc from raising its mmap threshold (it does after freeing a large block). A
    cache of small long-lived samples between large short-lived render and batch buffers then
    pins the heap: measured 1.6 MB of RSS per cached 96x128 sample (16 GB for `make
    demo-model`'s 10,000 rooms) against 0.1 MB with the threshold fixed. True when set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, limit))
    except (OSError, AttributeError):  # not glibc (musl): nothing to fix
        return False


class DepthDataset(torch.utils.data.Dataset):
    """Items: image float32 [3,H,W] (the model input of `preprocess`: resized and scaled as at
    deployment), depth float32 [1,H,W] metres (0 = invalid) and valid bool [1,H,W] at the same
    size. preprocess None: the reader's own size, scaled by the default 1/255.

    cache: keep decoded (pre-augmentation) samples in memory; for small or procedural
    data sets read many times (each DataLoader worker holds its own cache).
    canonical_focal: (fx, fy) in model input pixels: each label is scaled to that camera,
    depth * f_canonical / f_sample (--canonical-focal), so data from several cameras agrees.
    """

    def __init__(self, reader: DepthReader, preprocess: PreprocessCfg | None = None,
                 augment: Augment | None = None, seed: int = 0, cache: bool = False,
                 canonical_focal: tuple[float, float] | None = None) -> None:
        self.reader, self.preprocess, self.augment, self.seed = reader, preprocess, augment, seed
        self.canonical_focal = canonical_focal
        self.epoch = 0
        self._cache: dict[int, Sample] | None = {} if cache else None
        if cache:
            fix_mmap_threshold()

    def set_epoch(self, epoch: int) -> None:
        """Changes the augmentation draws; call at the start of every epoch."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.reader)

    def sample(self, index: int) -> Sample:
        """The reader's sample, from the cache when enabled."""
        if self._cache is None:
            return self.reader[index]
        if index not in self._cache:
            self._cache[index] = self.reader[index]
        return self._cache[index]

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        """key: an index (augmented for the current epoch) or an (epoch, index) pair, as
        moadepth_edge.train.sampler yields them."""
        epoch, index = key if isinstance(key, tuple) else (self.epoch, key)
        sample = self.sample(index)
        rng = np.random.default_rng([self.seed, epoch, index])
        if self.augment is not None:
            sample = self.augment(sample, rng)
        pre = self.preprocess or PreprocessCfg(size=sample.depth.shape)
        if self.canonical_focal is not None:
            sample = self.to_canonical(sample, pre)
        sample = resize_sample(sample, tuple(pre.size))
        if self.augment is not None:
            sample = Sample(self.augment.at_input(sample.rgb, rng), sample.depth, sample.valid,
                            sample.intrinsics, sample.name)
        return to_tensors(sample, pre)

    def to_canonical(self, sample: Sample, pre: PreprocessCfg) -> Sample:
        """`sample` with its depth as the canonical camera would see it."""
        k = sample.intrinsics
        if k is None:
            raise ValueError(f"{sample.name}: canonical-focal training needs each sample's intrinsics")
        assert self.canonical_focal is not None
        f = focal_ratio(self.canonical_focal, input_focal(k.fx, k.fy, sample.depth.shape, pre))
        return Sample(sample.rgb, sample.depth * np.float32(f), sample.valid, k, sample.name)


def to_tensors(sample: Sample, pre: PreprocessCfg) -> dict[str, Any]:
    """A Sample (already at the model's input size) as the tensors a model and the losses take."""
    return {
        "image": torch.from_numpy(rgb_to_input(sample.rgb, pre)),
        "depth": torch.from_numpy(np.ascontiguousarray(sample.depth))[None].float(),
        "valid": torch.from_numpy(np.ascontiguousarray(sample.valid))[None],
    }
