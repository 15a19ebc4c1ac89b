"""Datasets and data loaders from the DATASET and PIPELINE sections."""
from typing import Dict, Optional

import numpy as np
import paddle

from ..registry import DATASETS, ConfigError, build
from .batch import collate_clips
from .pipelines import Compose

BATCH_KEYS = {"train": ("batch_size", "num_workers"),
              "valid": ("valid_batch_size", "valid_num_workers"),
              "test": ("test_batch_size", "test_num_workers")}


def build_dataset(cfg: Dict, mode: str):
    """Build the ``mode`` dataset with its pipeline; labels are checked against the head's classes."""
    if mode not in cfg["DATASET"]:
        raise ConfigError(f"DATASET: no '{mode}' entry (needed for {mode})")
    if mode not in cfg["PIPELINE"]:
        raise ConfigError(f"PIPELINE: no '{mode}' entry (needed for {mode})")
    return build(cfg["DATASET"][mode], DATASETS, key="format", pipeline=Compose(cfg["PIPELINE"][mode]),
                 num_classes=cfg["MODEL"]["head"]["num_classes"], test_mode=mode != "train")


def loader_settings(dataset_cfg: Dict, mode: str):
    """Batch size and worker count for ``mode`` (valid/test fall back to the train values)."""
    bs_key, nw_key = BATCH_KEYS[mode]
    batch_size = dataset_cfg.get(bs_key, dataset_cfg.get("batch_size", 1))
    num_workers = dataset_cfg.get(nw_key, dataset_cfg.get("num_workers", 0))
    return int(batch_size), int(num_workers)


class WorkerSeeder:
    """``worker_init_fn`` giving every (seed, rank, epoch, worker) its own numpy stream.

    Paddle re-creates workers for every pass over the loader, so setting ``epoch`` before a pass makes
    augmentations differ across epochs yet repeat exactly for the same ``--seed``.
    """

    def __init__(self, seed: Optional[int], rank: int):
        self.seed = 0 if seed is None else int(seed)
        self.rank = rank
        self.epoch = 0

    def __call__(self, worker_id: int) -> None:
        np.random.seed((self.seed * 1_000_003 + self.rank * 10_007 + self.epoch * 101 + worker_id) % 2**32)


def build_dataloader(dataset, batch_size: int, num_workers: int, shuffle: bool, drop_last: bool,
                     seeder: Optional[WorkerSeeder] = None, distributed: bool = False):
    """A ``paddle.io.DataLoader`` of ``[imgs, labels, meta]`` batches (``loader/batch.py``), sharded
    over ranks when ``distributed``."""
    if distributed:
        sampler = paddle.io.DistributedBatchSampler(dataset, batch_size=batch_size, shuffle=shuffle,
                                                    drop_last=drop_last)
    else:
        sampler = paddle.io.BatchSampler(dataset, batch_size=batch_size, shuffle=shuffle,
                                         drop_last=drop_last)
    if num_workers == 0:
        return InProcessLoader(dataset, sampler)
    return paddle.io.DataLoader(dataset, batch_sampler=sampler, num_workers=num_workers,
                                collate_fn=collate_clips, worker_init_fn=seeder,
                                use_shared_memory=True)


def build_loader(cfg: Dict, mode: str, distributed: bool, seeder: Optional[WorkerSeeder] = None):
    """Dataset + loader for ``mode`` with the DATASET section's batch size and workers (shuffled and
    last partial batch dropped in train only)."""
    batch_size, workers = loader_settings(cfg["DATASET"], mode)
    train = mode == "train"
    return build_dataloader(build_dataset(cfg, mode), batch_size, workers, shuffle=train, drop_last=train,
                            seeder=seeder, distributed=distributed)


class InProcessLoader:
    """Batches built in the calling thread, for ``num_workers: 0``.

    Paddle's DataLoader still reads through a background thread when it has no workers, and an
    exception raised by the dataset there (a test video that cannot be decoded, a training run out
    of retries) leaves the main process waiting forever. Here it simply propagates.
    """

    def __init__(self, dataset, batch_sampler):
        self.dataset = dataset
        self.batch_sampler = batch_sampler

    def __len__(self) -> int:
        return len(self.batch_sampler)

    def __iter__(self):
        for indices in self.batch_sampler:
            yield [paddle.to_tensor(a) for a in collate_clips([self.dataset[i] for i in indices])]
