"""Video-level top-k and mean class accuracy over a whole evaluation set."""
from typing import Dict, List

import numpy as np

from ..registry import METRICS


@METRICS.register()
class CenterCropMetric:
    """Accumulate logits and labels, report top-1 / top-5 and mean class accuracy over every sample.

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

    def _stacked(self):
        return np.concatenate(self.logits), np.concatenate(self.labels)

    def accumulate(self) -> Dict[str, float]:
        """``top1``, ``top5`` and ``mean_class_accuracy`` (the mean over the classes present of their
        top-1 recall, the UCF101/Kinetics "mean class accuracy")."""
        if not self.labels:
            return {**{f"top{k}": 0.0 for k in self.topk}, "mean_class_accuracy": 0.0}
        logits, labels = self._stacked()
        ranked = np.argsort(-logits, axis=1, kind="stable")
        results = {f"top{k}": float(np.mean(np.any(ranked[:, :min(k, logits.shape[1])] == labels[:, None],
                                                   axis=1))) for k in self.topk}
        results["mean_class_accuracy"] = float(np.mean(list(self.per_class_accuracy().values())))
        return results

    def per_class_accuracy(self) -> Dict[int, float]:
        """class id -> top-1 accuracy over its samples, for every class that has samples."""
        if not self.labels:
            return {}
        logits, labels = self._stacked()
        correct = logits.argmax(axis=1) == labels
        return {int(c): float(correct[labels == c].mean()) for c in np.unique(labels)}
