"""Classification head of TimeSformer: one linear layer on the clip's class token."""
import paddle

from ...registry import HEADS
from .linear_head import LinearClassifierHead


@HEADS.register()
class TimeSformerHead(LinearClassifierHead):
    """``[B, D]`` class token -> fc -> logits ``[B, num_classes]`` (PaddleVideo's ``TimeSformerHead``).

    The official model has no dropout before the classifier (its ``DROPOUT_RATE`` is never used by
    the ViT), so there is none here; the parameter names ``fc.weight``/``fc.bias`` are PaddleVideo's.

    Args:
        num_classes: number of classes.
        in_channels: width of the backbone feature (``embed_dim``).
        std: std of the classifier weight (0.02, as the official ``_init_weights``, truncated at +-2);
            ``0`` zero-initialises it.
        ls_eps: label smoothing of the default cross-entropy loss.
        loss_cfg: loss config (default ``CrossEntropyLoss``).
    """

    INIT_BOUND = 2.0  # timm's absolute bounds, as the official ``_init_weights``

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.fc(x)  # [B, D] -> [B, K]
