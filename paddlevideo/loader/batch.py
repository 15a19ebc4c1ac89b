"""Batches of clips with their bookkeeping: which dataset samples they hold and which failed.

Why the bookkeeping is packed into bytes: Paddle's DataLoader moves only non-empty arrays from its
worker processes, yet the main process must know the dataset index of every row (to count each video
exactly once across ranks) and the samples that failed to decode, with the reason (to log, count and
report them). So each batch is ``[imgs, labels, meta]`` where ``meta`` is the UTF-8 JSON of
``BatchMeta`` as a uint8 array -- one small, always non-empty array.
"""
import json
from dataclasses import dataclass, field
from typing import List, Sequence, Tuple

import numpy as np

from .dataset.base import ClipSample


@dataclass
class BatchMeta:
    """``indices[i]`` is the dataset index of row ``i``; ``failures`` are ``(index, reason)`` pairs;
    ``short`` are ``(index, readable, promised)`` of the rows sampled from part of their video."""
    indices: List[int] = field(default_factory=list)
    failures: List[Tuple[int, str]] = field(default_factory=list)
    short: List[Tuple[int, int, int]] = field(default_factory=list)

    def encode(self) -> np.ndarray:
        text = json.dumps({"indices": self.indices, "failures": self.failures, "short": self.short})
        return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).copy()

    @classmethod
    def decode(cls, array) -> "BatchMeta":
        data = json.loads(bytes(np.asarray(array, dtype=np.uint8)).decode("utf-8"))
        return cls(data["indices"], [(int(i), str(r)) for i, r in data["failures"]],
                   [(int(i), int(r), int(p)) for i, r, p in data["short"]])


def collate_clips(samples: Sequence[ClipSample]) -> List[np.ndarray]:
    """Stack the clips that decoded; record every row's index and every failure.

    Returns:
        ``[imgs float32 [B', ...], labels int64 [B'], meta uint8 [n]]`` with ``B'`` the samples that
        decoded. A batch in which nothing decoded gets one-element placeholders for ``imgs`` and
        ``labels`` and an empty ``meta.indices``; consumers skip it.
    """
    good = [s for s in samples if s.imgs is not None]
    meta = BatchMeta([int(s.index) for s in good],
                     [(int(i), reason) for s in samples for i, reason in s.failures],
                     [(int(s.index), *map(int, s.short)) for s in good if s.short])
    if not good:
        return [np.zeros(1, np.float32), np.zeros(1, np.int64), meta.encode()]
    imgs = np.stack([s.imgs for s in good])
    labels = np.array([s.label for s in good], dtype=np.int64)
    return [imgs, labels, meta.encode()]


def split_batch(batch) -> Tuple[list, BatchMeta]:
    """``[imgs, labels, meta]`` -> (``[imgs, labels]`` for the model, the decoded ``BatchMeta``)."""
    meta = batch[2]
    return list(batch[:2]), BatchMeta.decode(meta.numpy() if hasattr(meta, "numpy") else meta)
