"""Datasets and data loaders from the DATASET and PIPELINE sections."""
import signal
from typing import Dict

import paddle

from ..config.defaults import setting
from ..cpu import limit_worker_threads, one_opencv_thread_for_workers
from ..errors import ConfigError
from ..registry import DATASETS, build
from ..utils.runtime import rank, world_size
from .batch import collate_clips
from .pipelines import Compose
from .sampler import EpochBatchSampler

BATCH_KEYS = {"train": ("batch_size", "num_workers"),
              "valid": ("valid_batch_size", "valid_num_workers"),
              "test": ("test_batch_size", "test_num_workers")}


def build_dataset(cfg: Dict, mode: str):
    """Build the ``mode`` dataset with its pipeline; labels are checked against the head's classes and
    every read has ``DATASET.read_timeout`` (``loader/deadline.py``)."""
    if mode not in cfg["DATASET"]:
        raise ConfigError(f"DATASET: no '{mode}' entry (needed for {mode})")
    if mode not in cfg["PIPELINE"]:
        raise ConfigError(f"PIPELINE: no '{mode}' entry (needed for {mode})")
    return build(cfg["DATASET"][mode], DATASETS, key="format", pipeline=Compose(cfg["PIPELINE"][mode]),
                 num_classes=cfg["MODEL"]["head"]["num_classes"], test_mode=mode != "train",
                 read_timeout=setting(cfg, "DATASET.read_timeout"))


def loader_settings(dataset_cfg: Dict, mode: str):
    """Batch size and worker count for ``mode`` (valid/test fall back to the train values)."""
    bs_key, nw_key = BATCH_KEYS[mode]
    batch_size = dataset_cfg.get(bs_key, dataset_cfg.get("batch_size", 1))
    num_workers = dataset_cfg.get(nw_key, dataset_cfg.get("num_workers", 0))
    return int(batch_size), int(num_workers)


WORKER_GRACE_SECONDS = 20


def _exit_after_grace(signum, frame) -> None:
    signal.alarm(WORKER_GRACE_SECONDS)  # SIGALRM's default action ends the worker


def init_worker(worker_id: int) -> None:
    """``worker_init_fn``: one OpenMP/MKL thread per worker (``cpu/setup.py``; OpenCV's one thread was
    set before the fork) and the stop signals of :func:`worker_signals`."""
    limit_worker_threads()
    worker_signals()


def worker_signals() -> None:
    """Stop signals are the main process's to act on.

    A pre-empted job's SIGTERM (and a terminal's Ctrl-C) often reaches the whole process group. The
    main process finishes its step, checkpoints and shuts the loader down (``utils/preemption.py``);
    a worker dying under it would make Paddle raise in the middle of that step instead. So workers
    ignore SIGINT and outlive a SIGTERM by ``WORKER_GRACE_SECONDS`` -- bounded, so that a worker
    nobody shuts down still ends.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_after_grace)
    signal.set_wakeup_fd(-1)  # the main process's stop pipe (utils/stop_flag.py) is not the worker's


def close_loader_iterator(iterator) -> None:
    """Stop a loader iterator's worker processes now (not when garbage collection gets to it), e.g.
    when an epoch ends early on a stop request or an error."""
    shutdown = getattr(iterator, "_try_shutdown_all", None)  # Paddle's multi-process iterator
    if shutdown is not None:
        shutdown()


def build_dataloader(dataset, batch_sampler, num_workers: int):
    """Batches ``[imgs, labels, meta]`` (``loader/batch.py``) of ``dataset`` in ``batch_sampler``'s order."""
    if num_workers == 0:
        return InProcessLoader(dataset, batch_sampler)
    one_opencv_thread_for_workers()  # inherited by the forked workers
    return paddle.io.DataLoader(dataset, batch_sampler=batch_sampler, num_workers=num_workers,
                                collate_fn=collate_clips, worker_init_fn=init_worker,
                                use_shared_memory=True)


def eval_batch_sampler(dataset, batch_size: int, distributed: bool):
    """Dataset order; with several processes the sampler pads, and the evaluation drops the repeats
    by sample index."""
    if distributed:
        return paddle.io.DistributedBatchSampler(dataset, batch_size=batch_size, shuffle=False)
    return paddle.io.BatchSampler(dataset, batch_size=batch_size, shuffle=False)


def build_loader(cfg: Dict, mode: str, seed: int = 0):
    """Dataset + loader for ``mode`` with the DATASET section's batch size and workers.

    Training batches follow ``EpochBatchSampler`` (the order is a function of seed and epoch; the
    trainer sets the epoch on ``loader.batch_sampler`` and on the dataset); valid/test keep the
    dataset order.
    """
    batch_size, workers = loader_settings(cfg["DATASET"], mode)
    dataset = build_dataset(cfg, mode)
    if mode == "train":
        sampler = EpochBatchSampler(len(dataset), batch_size, seed, rank(), world_size())
    else:
        sampler = eval_batch_sampler(dataset, batch_size, world_size() > 1)
    return build_dataloader(dataset, sampler, workers)


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
