"""Classification head of TokShift: a linear layer per frame, logits averaged over frames."""
from typing import Dict, Optional

import paddle
import paddle.nn as nn

from ...registry import HEADS
from .linear_head import LinearClassifierHead


@HEADS.register()
class TokenShiftHead(LinearClassifierHead):
    """``[B, T, D]`` class tokens -> dropout -> fc -> mean over T -> logits ``[B, num_classes]``.

    Averaging logits (not probabilities) over frames matches the official ``CONSENSUS_TYPE: avg``.
    The number of frames comes from the input, so it can never disagree with the backbone's.

    Args:
        drop_ratio: dropout before the classifier (the official ``DROPOUT_RATE``); the other
            arguments are ``LinearClassifierHead``'s.
    """

    def __init__(self, num_classes: int, in_channels: int, drop_ratio: float = 0.0,
                 std: float = 0.02, ls_eps: float = 0.0, loss_cfg: Optional[Dict] = None):
        super().__init__(num_classes, in_channels, std=std, ls_eps=ls_eps, loss_cfg=loss_cfg)
        self.dropout = nn.Dropout(drop_ratio) if drop_ratio > 0 else nn.Identity()

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.fc(self.dropout(x)).mean(axis=1)  # [B, T, D] -> [B, T, K] -> [B, K]
