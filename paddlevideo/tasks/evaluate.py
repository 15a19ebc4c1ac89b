"""Evaluation pass shared by validation during training and ``--test``."""
import time
from typing import Dict

import numpy as np
import paddle
import paddle.distributed as dist

from ..utils.logger import get_logger
from ..utils.meters import format_seconds
from ..utils.runtime import world_size


def unwrap(model):
    """The recognizer inside a ``paddle.DataParallel`` wrapper (or the model itself)."""
    return getattr(model, "_layers", model)


def gather_unique(indices: np.ndarray, logits: np.ndarray, labels: np.ndarray):
    """Collect every rank's results and keep one row per dataset index.

    ``DistributedBatchSampler`` pads the index list by repeating samples and interleaves batches across
    ranks, so rows are matched by sample index rather than by position.
    """
    if world_size() > 1:
        parts = []
        dist.all_gather_object(parts, (indices, logits, labels))
        indices, logits, labels = (np.concatenate([p[k] for p in parts]) for k in range(3))
    _, first = np.unique(indices, return_index=True)
    return logits[first], labels[first]


@paddle.no_grad()
def evaluate(model, loader, metric, precision, log_interval: int = 10, tag: str = "val") -> Dict:
    """Run ``model`` over ``loader`` in test mode; return top-k accuracy and mean loss.

    Views stacked on the frame axis are averaged by the recognizer in one batched pass.
    """
    logger = get_logger()
    model.eval()
    logits_all, labels_all = [], []
    total, start = len(loader), time.time()
    for i, batch in enumerate(loader):
        with precision.autocast():
            logits = model([batch[0]], mode="test")
        logits_all.append(logits.astype("float32").numpy())
        labels_all.append(batch[1].numpy().reshape(-1))
        if (i + 1) % log_interval == 0 or i + 1 == total:
            rate = (time.time() - start) / (i + 1)
            logger.info("[%s] batch %d/%d eta: %s", tag, i + 1, total, format_seconds(rate * (total - i - 1)))
    indices = np.array([i for batch in loader.batch_sampler for i in batch])  # this rank's samples, in order
    logits, labels = gather_unique(indices, np.concatenate(logits_all), np.concatenate(labels_all))
    metric.reset()
    metric.update(logits, labels)
    loss = unwrap(model).head.loss_func(paddle.to_tensor(logits), paddle.to_tensor(labels))
    model.train()
    return {"loss": float(loss), **metric.accumulate(), "samples": int(len(labels))}
