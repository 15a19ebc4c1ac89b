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


def gather(array: np.ndarray, total: int) -> np.ndarray:
    """Concatenate per-rank results in rank order and drop the sampler's padding."""
    if world_size() == 1:
        return array
    parts = []
    dist.all_gather_object(parts, array)
    return np.concatenate(parts)[:total]


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
    logits = gather(np.concatenate(logits_all), len(loader.dataset))
    labels = gather(np.concatenate(labels_all), len(loader.dataset))
    metric.reset()
    metric.update(logits, labels)
    loss = unwrap(model).head.loss_func(paddle.to_tensor(logits), paddle.to_tensor(labels))
    model.train()
    return {"loss": float(loss), **metric.accumulate(), "samples": int(len(labels))}
