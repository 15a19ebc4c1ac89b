"""Classification head of TimeSformer: one linear layer on the clip's class token."""
from typing import Dict, Optional

import paddle
import paddle.nn as nn

from ...registry import HEADS, LOSSES, build
from ..weight_init import trunc_normal_, zeros_
from .token_shift_head import topk_accuracy


@HEADS.register()
class TimeSformerHead(nn.Layer):
    """``[B, D]`` class token -> fc -> logits ``[B, num_classes]`` (PaddleVideo's ``TimeSformerHead``).

    The official model has no dropout before the classifier (its ``DROPOUT_RATE`` is never used by
    the ViT), so there is none here; the parameter names ``fc.weight``/``fc.bias`` are PaddleVideo's.

    Args:
        num_classes: number of classes.
        in_channels: width of the backbone feature (``embed_dim``).
        std: trunc-normal std of the classifier weight (0.02, as the official ``_init_weights``);
            ``0`` zero-initialises it.
        ls_eps: label smoothing of the default cross-entropy loss.
        loss_cfg: loss config (default ``CrossEntropyLoss``).
    """

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
        """Normal with ``std`` truncated at +-2 (zeros for ``std: 0``); zero bias."""
        if self.std > 0:
            trunc_normal_(self.fc.weight, std=self.std, bound=2.0)  # timm's absolute bounds, as the official
        else:
            zeros_(self.fc.weight)
        zeros_(self.fc.bias)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.fc(x)  # [B, D] -> [B, K]

    def loss(self, logits: paddle.Tensor, labels: paddle.Tensor) -> Dict[str, paddle.Tensor]:
        """Loss plus top-1 / top-5 accuracy of a batch."""
        return {"loss": self.loss_func(logits, labels),
                "top1": topk_accuracy(logits, labels, 1),
                "top5": topk_accuracy(logits, labels, 5)}
