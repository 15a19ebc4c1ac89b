"""Classification head of TokShift: a linear layer per frame, logits averaged over frames."""
from typing import Dict, Optional

import paddle
import paddle.nn as nn

from ...registry import HEADS, LOSSES, build
from ..weight_init import trunc_normal_, zeros_


def topk_accuracy(logits: paddle.Tensor, labels: paddle.Tensor, k: int) -> paddle.Tensor:
    """Fraction of rows whose label is among the ``k`` highest logits (``k`` capped at ``K``)."""
    k = min(k, logits.shape[-1])
    return paddle.metric.accuracy(logits.astype("float32"), labels.reshape([-1, 1]), k=k)


@HEADS.register()
class TokenShiftHead(nn.Layer):
    """``[B, T, D]`` class tokens -> dropout -> fc -> mean over T -> logits ``[B, num_classes]``.

    Averaging logits (not probabilities) over frames matches the official ``CONSENSUS_TYPE: avg``.
    The number of frames comes from the input, so it can never disagree with the backbone's.
    """

    def __init__(self, num_classes: int, in_channels: int, drop_ratio: float = 0.0,
                 std: float = 0.02, ls_eps: float = 0.0, loss_cfg: Optional[Dict] = None):
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if std < 0:
            raise ValueError(f"std must be >= 0, got {std}")
        self.num_classes = num_classes
        self.std = std
        self.dropout = nn.Dropout(drop_ratio) if drop_ratio > 0 else nn.Identity()
        self.fc = nn.Linear(in_channels, num_classes)
        self.loss_func = build(loss_cfg or {"name": "CrossEntropyLoss"}, LOSSES, ls_eps=ls_eps)

    def init_weights(self) -> None:
        """Truncated normal with ``std``; ``std: 0`` zero-initialises the classifier, as the official
        code does when fine-tuning from ImageNet weights (``zero_head=True``)."""
        if self.std > 0:
            trunc_normal_(self.fc.weight, std=self.std)
        else:
            zeros_(self.fc.weight)
        zeros_(self.fc.bias)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.fc(self.dropout(x)).mean(axis=1)  # [B, T, D] -> [B, T, K] -> [B, K]

    def loss(self, logits: paddle.Tensor, labels: paddle.Tensor) -> Dict[str, paddle.Tensor]:
        """Loss plus top-1 / top-5 accuracy of a batch."""
        return {"loss": self.loss_func(logits, labels),
                "top1": topk_accuracy(logits, labels, 1),
                "top5": topk_accuracy(logits, labels, 5)}
