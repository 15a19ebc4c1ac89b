"""Training samples that failed to decode: logged once per run, counted per epoch, capped; and training
clips sampled from part of their video (a header promising more frames than were readable), logged
once per run and counted per epoch apart from the failures.

The dataset replaces a failed sample so that training goes on (``loader/dataset/base.py``); here the
main process turns the failures carried by each batch into what a researcher needs: one warning per
broken file per run (not one per epoch), the count in every epoch summary, and a stop with the list of
files when more of an epoch fails than ``DATASET.max_failure_ratio`` -- a sign that the data, not a
few files, is broken.
"""
from typing import Dict, Iterable, Tuple

from ..config.defaults import DEFAULTS
from ..errors import ConfigError
from ..loader.errors import DataError
from ..utils.logger import get_logger


def max_failure_ratio(dataset_cfg: Dict) -> float:
    """``DATASET.max_failure_ratio`` (default 0.01), checked to be a fraction."""
    ratio = dataset_cfg.get("max_failure_ratio", DEFAULTS["DATASET.max_failure_ratio"])
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 <= ratio <= 1:
        raise ConfigError(f"DATASET.max_failure_ratio must be a fraction in [0, 1], got {ratio!r}")
    return float(ratio)


class TrainingFailures:
    """Accounting of failed training samples for one run.

    Args:
        dataset: the training dataset (for paths and size).
        max_ratio: the largest tolerated fraction of failing samples in one epoch.
        shards: processes sharing the dataset (each sees about ``1 / shards`` of it).
    """

    def __init__(self, dataset, max_ratio: float, shards: int = 1):
        self.dataset = dataset
        self.limit = max_ratio * len(dataset) / shards
        self.logged: Dict[str, str] = {}
        self.epoch: Dict[int, str] = {}
        self.short_logged: set = set()
        self.short_epoch: set = set()

    def record(self, failures: Iterable[Tuple[int, str]]) -> None:
        """Log new files, count them for this epoch, stop when the epoch exceeds the ceiling.

        Raises:
            DataError: more samples of this epoch failed than the ceiling allows.
        """
        for index, reason in failures:
            path = self.dataset.path(index)
            if path not in self.logged:
                get_logger().warning("unreadable training video %s (%s); replaced by another sample",
                                     path, reason)
                self.logged[path] = reason
            self.epoch[index] = reason
        if len(self.epoch) > self.limit:
            listing = "\n".join(f"  {self.dataset.path(i)}: {r}" for i, r in sorted(self.epoch.items()))
            raise DataError(f"{len(self.epoch)} training samples failed to decode in this epoch, more than "
                            f"DATASET.max_failure_ratio allows ({self.limit:.1f} of {len(self.dataset)}"
                            f" here); fix or remove them, or raise the ratio:\n{listing}")

    def record_short(self, short: Iterable[Tuple[int, int, int]]) -> None:
        """Log each video sampled from part of its frames once per run; count them for this epoch."""
        for index, readable, promised in short:
            path = self.dataset.path(index)
            if path not in self.short_logged:
                get_logger().warning("training video %s: its header promises %d frames, %d were readable; "
                                     "its clips come from those", path, promised, readable)
                self.short_logged.add(path)
            self.short_epoch.add(index)

    def end_epoch(self) -> Tuple[int, int]:
        """Distinct samples that failed this epoch and distinct videos sampled from part of their frames;
        the counts restart."""
        counts = len(self.epoch), len(self.short_epoch)
        self.epoch, self.short_epoch = {}, set()
        return counts
