"""What the classification heads share: one linear classifier, its initialisation, the loss and the
batch accuracies. Subclasses say how backbone features become logits (``forward``)."""
from typing import Dict, Optional

import paddle
import paddle.nn as nn

from ...registry import LOSSES, build
from ..weight_init import trunc_normal_, zeros_


def topk_accuracy(logits: paddle.Tensor, labels: paddle.Tensor, k: int) -> paddle.Tensor:
    """Fraction of rows whose label is among the ``k`` highest logits (``k`` capped at ``K``)."""
    k = min(k, logits.shape[-1])
    return paddle.metric.accuracy(logits.astype("float32"), labels.reshape([-1, 1]), k=k)


class LinearClassifierHead(nn.Layer):
    """A linear classifier ``fc`` (PaddleVideo's parameter names ``fc.weight``/``fc.bias``) with its loss.

    Args:
        num_classes: number of classes.
        in_channels: width of the backbone feature (``embed_dim``).
        std: trunc-normal std of the classifier weight; ``0`` zero-initialises it, as the official
            TokShift code does when fine-tuning from ImageNet weights (``zero_head=True``).
        ls_eps: label smoothing of the default cross-entropy loss.
        loss_cfg: loss config (default ``CrossEntropyLoss``).
    """

    INIT_BOUND: Optional[float] = None  # truncation of the weight init (None: two standard deviations)

    def __init__(self, num_classes: int, in_channels: int, std: float = 0.02, ls_eps: float = 0.0,
                 loss_cfg: Optional[Dict] = None):
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if std < 0:
            raise ValueError(f"std must be >= 0, got {std}")
        self.num_classes = num_classes
        self.std = std
        self.fc = nn.Linear(in_channels, num_classes)
        self.loss_func = build(loss_cfg or {"name": "CrossEntropyLoss"}, LOSSES, ls_eps=ls_eps)

    def init_weights(self) -> None:
        """Truncated normal with ``std`` (zeros for ``std: 0``); zero bias."""
        if self.std > 0:
            trunc_normal_(self.fc.weight, std=self.std, bound=self.INIT_BOUND)
        else:
            zeros_(self.fc.weight)
        zeros_(self.fc.bias)

    def loss(self, logits: paddle.Tensor, labels: paddle.Tensor) -> Dict[str, paddle.Tensor]:
        """Loss plus top-1 / top-5 accuracy of a batch."""
        return {"loss": self.loss_func(logits, labels),
                "top1": topk_accuracy(logits, labels, 1),
                "top5": topk_accuracy(logits, labels, 5)}
