"""Evaluation pass shared by validation during training and ``--test``.

Every video is counted exactly once, also with several processes (``DistributedBatchSampler`` pads
and interleaves, so rows are matched by dataset index), and a video that cannot be decoded is left
out and reported, never fatal: metrics are over the videos that were scored.
"""
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import paddle
import paddle.distributed as dist

from ..loader.batch import split_batch
from ..utils.logger import get_logger
from ..utils.meters import format_seconds
from ..utils.runtime import world_size


def unwrap_data_parallel(model):
    """The recognizer inside a ``paddle.DataParallel`` wrapper (or the model itself)."""
    return getattr(model, "_layers", model)


@dataclass
class EvalOutputs:
    """What one evaluation pass produced, merged over ranks, one row per scored video.

    Attributes:
        indices: int64 [N] dataset indices of the scored videos, increasing.
        logits: float32 [N, K] view-averaged logits.
        labels: int64 [N].
        failures: dataset index -> reason, for the videos that could not be decoded.
        short: dataset index -> (readable, promised) frames, for the scored videos whose clip came
            from part of the video (its header promises more frames than were readable).
        total: videos in the dataset.
        views: views (clips x crops) averaged per video.
    """
    indices: np.ndarray
    logits: np.ndarray
    labels: np.ndarray
    failures: Dict[int, str]
    short: Dict[int, Tuple[int, int]]
    total: int
    views: int

    def coverage(self) -> str:
        short = f" ({len(self.short)} from part of the video)" if self.short else ""
        return f"{len(self.indices)} of {self.total} videos scored{short}, {len(self.failures)} failed"


def _merge_ranks(indices: np.ndarray, logits: np.ndarray, labels: np.ndarray, failures: Dict[int, str],
                 short: Dict[int, Tuple[int, int]]):
    """Every rank's rows, failures and short videos, with one row per dataset index."""
    if world_size() > 1:
        parts: List = []
        dist.all_gather_object(parts, (indices, logits, labels, failures, short))
        indices, logits, labels = (np.concatenate([p[k] for p in parts]) for k in range(3))
        failures = {i: r for p in parts for i, r in p[3].items()}
        short = {i: frames for p in parts for i, frames in p[4].items()}
    indices, first = np.unique(indices, return_index=True)
    return indices, logits[first], labels[first], failures, short


@paddle.no_grad()
def evaluate(model, loader, precision, log_interval: int = 10, tag: str = "val",
             forward: Optional[Callable] = None) -> EvalOutputs:
    """Run ``model`` over ``loader`` in test mode (views averaged in one batched pass).

    Args:
        forward: ``inputs -> logits`` (``tasks/eval_forward.py``); default the eager ``model(inputs,
            mode="test")``.
    """
    logger = get_logger()
    forward = forward or (lambda inputs: model(inputs, mode="test"))
    model.eval()
    num_seg = unwrap_data_parallel(model).backbone.num_seg
    indices, logits, labels, failures, short, views = [], [], [], {}, {}, 0
    total, start = len(loader), time.time()
    for i, batch in enumerate(loader):
        inputs, meta = split_batch(batch)
        for index, reason in meta.failures:
            logger.warning("[%s] skipped %s: %s", tag, loader.dataset.path(index), reason)
            failures[index] = reason
        for index, readable, promised in meta.short:
            logger.warning("[%s] %s: its header promises %d frames, %d were readable; scored from those",
                           tag, loader.dataset.path(index), promised, readable)
            short[index] = (readable, promised)
        if meta.indices:
            with precision.autocast():
                out = forward(inputs)
            indices.append(np.asarray(meta.indices, dtype=np.int64))
            logits.append(out.astype("float32").numpy())
            labels.append(inputs[1].numpy().reshape(-1))
            views = inputs[0].shape[2] // num_seg
        if (i + 1) % log_interval == 0 or i + 1 == total:
            rate = (time.time() - start) / (i + 1)
            logger.info("[%s] batch %d/%d eta: %s", tag, i + 1, total, format_seconds(rate * (total - i - 1)))
    model.train()
    num_classes = unwrap_data_parallel(model).head.num_classes
    merged = _merge_ranks(np.concatenate(indices) if indices else np.zeros(0, np.int64),
                          np.concatenate(logits) if logits else np.zeros((0, num_classes), np.float32),
                          np.concatenate(labels) if labels else np.zeros(0, np.int64), failures, short)
    return EvalOutputs(*merged, total=len(loader.dataset), views=views)


def summarize(outputs: EvalOutputs, metric, loss_func) -> Dict:
    """Top-k and mean class accuracy, mean loss and the video counts of one evaluation."""
    metric.reset()
    if len(outputs.labels):
        metric.update(outputs.logits, outputs.labels)
        loss = float(loss_func(paddle.to_tensor(outputs.logits), paddle.to_tensor(outputs.labels)))
    else:
        loss = float("nan")
    return {"loss": loss, **metric.accumulate(), "videos": outputs.total,
            "scored": int(len(outputs.labels)), "failed": len(outputs.failures), "short": len(outputs.short)}
