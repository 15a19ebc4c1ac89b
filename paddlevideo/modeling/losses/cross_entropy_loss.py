"""Cross-entropy with optional label smoothing."""
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ...registry import LOSSES


@LOSSES.register()
class CrossEntropyLoss(nn.Layer):
    """Mean cross-entropy of logits ``[B, K]`` against int labels ``[B]`` or ``[B, 1]``.

    With ``ls_eps > 0`` the target is ``(1 - ls_eps) * one_hot + ls_eps / K``, which equals timm's
    ``LabelSmoothingCrossEntropy`` used by the official TokShift code.
    """

    def __init__(self, ls_eps: float = 0.0):
        super().__init__()
        if not 0.0 <= ls_eps < 1.0:
            raise ValueError(f"ls_eps must be in [0, 1), got {ls_eps}")
        self.ls_eps = ls_eps

    def forward(self, logits: paddle.Tensor, labels: paddle.Tensor) -> paddle.Tensor:
        labels = labels.reshape([-1])
        return F.cross_entropy(logits.astype("float32"), labels, label_smoothing=self.ls_eps)
