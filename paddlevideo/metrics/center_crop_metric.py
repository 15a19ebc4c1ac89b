"""Clip-level top-k accuracy over a whole evaluation set."""
from typing import Dict, List

import numpy as np

from ..registry import METRICS


@METRICS.register()
class CenterCropMetric:
    """Accumulate logits and labels, report top-1 / top-5 accuracy over every sample seen.

    Accuracies are computed over the real number of samples (PaddleVideo averaged per-batch values
    weighted by the nominal batch size, which is wrong for the last batch). Top-5 becomes top-K when
    there are fewer than 5 classes.
    """

    def __init__(self, topk: List[int] = (1, 5)):
        self.topk = tuple(topk)
        self.reset()

    def reset(self) -> None:
        self.logits: List[np.ndarray] = []
        self.labels: List[np.ndarray] = []

    def update(self, logits: np.ndarray, labels: np.ndarray) -> None:
        """Add a batch: ``logits`` ``[B, K]``, ``labels`` ``[B]`` or ``[B, 1]``."""
        self.logits.append(np.asarray(logits, dtype=np.float32))
        self.labels.append(np.asarray(labels).reshape(-1))

    @property
    def count(self) -> int:
        return int(sum(len(lab) for lab in self.labels))

    def accumulate(self) -> Dict[str, float]:
        if not self.labels:
            return {f"top{k}": 0.0 for k in self.topk}
        logits, labels = np.concatenate(self.logits), np.concatenate(self.labels)
        ranked = np.argsort(-logits, axis=1, kind="stable")
        return {f"top{k}": float(np.mean(np.any(ranked[:, :min(k, logits.shape[1])] == labels[:, None],
                                                axis=1))) for k in self.topk}
