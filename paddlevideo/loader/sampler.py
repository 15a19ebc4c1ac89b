"""The training order: a function of (seed, epoch) only, identical on every rank and after a resume.

Why not ``paddle.io.DistributedBatchSampler``: its shuffle ignores the run's seed, and it cannot start
an epoch in the middle, so a resumed run would see other data than the run it continues. Here the
epoch's permutation comes from ``numpy.random.default_rng((seed, epoch))``; it is cut into global
batches of ``batch_size x world_size`` samples and rank ``r`` takes the ``r``-th slice of each. So
``world_size`` processes with batch ``B`` see, step by step, exactly the samples one process with
batch ``world_size x B`` sees (the data-parallel equivalence the tests check).
"""
from typing import Iterator, List

import numpy as np


class EpochBatchSampler:
    """Batches of dataset indices for one rank, in the (seed, epoch) order; the last partial global
    batch is dropped (training only).

    Args:
        num_samples: dataset size.
        batch_size: samples per batch on this rank.
        seed: the run's seed.
        rank: this process's rank.
        world_size: number of processes.
        shuffle: permute each epoch (else dataset order).
    """

    def __init__(self, num_samples: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1,
                 shuffle: bool = True):
        if num_samples < batch_size * world_size:
            raise ValueError(f"{num_samples} training samples cannot fill one global batch of "
                             f"{batch_size} x {world_size} processes")
        self.num_samples, self.batch_size = num_samples, batch_size
        self.seed, self.rank, self.world_size, self.shuffle = int(seed), rank, world_size, shuffle
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """The next iteration yields batches ``start, start + 1, ...`` of epoch ``epoch``."""
        self.epoch, self.start = epoch, start

    def __len__(self) -> int:
        """Batches in a whole epoch (also when the iteration starts later)."""
        return self.num_samples // (self.batch_size * self.world_size)

    def order(self) -> np.ndarray:
        """The epoch's sample order (the same on every rank)."""
        if not self.shuffle:
            return np.arange(self.num_samples)
        return np.random.default_rng((self.seed, self.epoch)).permutation(self.num_samples)

    def __iter__(self) -> Iterator[List[int]]:
        order, global_batch = self.order(), self.batch_size * self.world_size
        for step in range(self.start, len(self)):
            first = step * global_batch + self.rank * self.batch_size
            yield order[first:first + self.batch_size].tolist()
