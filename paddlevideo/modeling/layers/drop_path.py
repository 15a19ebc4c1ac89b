"""Stochastic depth (drop whole residual branches per sample)."""
import paddle
import paddle.nn as nn


class DropPath(nn.Layer):
    """Zero a residual branch for a random subset of samples and rescale the rest.

    The keep mask is drawn in the input's dtype (PaddleVideo built a float64 tensor per call, which
    triggered a type-promotion warning on every step).
    """

    def __init__(self, drop_prob: float = 0.0):
        super().__init__()
        if not 0.0 <= drop_prob < 1.0:
            raise ValueError(f"drop_prob must be in [0, 1), got {drop_prob}")
        self.drop_prob = drop_prob

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep_prob = 1.0 - self.drop_prob
        mask_shape = [x.shape[0]] + [1] * (x.ndim - 1)
        mask = paddle.floor(keep_prob + paddle.rand(mask_shape, dtype=x.dtype))
        return x / keep_prob * mask

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob}"
