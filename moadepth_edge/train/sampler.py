"""A shuffling, sharding sampler that can start mid-epoch.

Like torch's DistributedSampler (same permutation for a (seed, epoch) on every rank, padded
to a multiple of the world size, rank r takes every world-th index), plus `skip_batches` so a
resumed run continues with exactly the batches it had not yet seen. It yields (epoch, index)
pairs: DataLoader workers are persistent, so the epoch travels with each index to seed that
item's augmentation.
"""
from __future__ import annotations

from typing import Iterator

import torch
from torch.utils.data import Sampler


class ResumableSampler(Sampler):
    def __init__(self, n: int, *, batch_size: int, world_size: int = 1, rank: int = 0,
                 seed: int = 0, shuffle: bool = True) -> None:
        self.n, self.batch_size = n, batch_size
        self.world_size, self.rank, self.seed, self.shuffle = world_size, rank, seed, shuffle
        self.per_rank = -(-n // world_size)
        # whole batches only, so every step has the same batch size on every rank
        self.batches_per_epoch = max(self.per_rank // batch_size, 1)
        self.epoch, self.skip = 0, 0

    def set_epoch(self, epoch: int, skip_batches: int = 0) -> None:
        self.epoch, self.skip = epoch, skip_batches

    def indices(self) -> list[int]:
        """This rank's indices for the current epoch, before skipping."""
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.n, generator=g).tolist()
        else:
            order = list(range(self.n))
        total = self.per_rank * self.world_size
        order = (order * (-(-total // self.n)))[:total]  # pad by wrapping around
        mine = order[self.rank::self.world_size]
        mine = (mine * (-(-self.batch_size // len(mine))))  # tiny data sets: at least one batch
        return mine[: self.batches_per_epoch * self.batch_size]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for i in self.indices()[self.skip * self.batch_size:]:
            yield (self.epoch, i)

    def __len__(self) -> int:
        return (self.batches_per_epoch - self.skip) * self.batch_size
