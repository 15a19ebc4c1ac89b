"""LayerNorm over the last axis with a faster eager-CPU backward; the exported graph keeps ``F.layer_norm``.

Why: Paddle 3.3.1's CPU ``layer_norm_grad`` is much slower than PyTorch's on the token matrices
of a ViT (``[B*T*N, C]``), and a training step calls it once per norm. Its parameter gradients are
column sums over the rows, which Paddle's reductions compute slowly (see :mod:`.linear`); here they are
matrix-vector products with a ones vector, and the row means of the input gradient are products with a
``1/C`` vector. The forward is unchanged.

Values: the forward is ``F.layer_norm`` itself. The backward recomputes the mean and variance in two
passes and uses the textbook gradient; only float32 summation order differs from Paddle's (tested).
Unlike Paddle 3.3.1's kernel, it keeps the scale in the input gradient when the scale is frozen
(``stop_gradient``); Paddle's drops it there (checked against finite differences).
The fast path is switched off, with the others, by :func:`.fast_paths.reference_kernels`.
"""
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddle.autograd import PyLayer

from .fast_paths import cpu_fast_paths_enabled


class _LayerNorm(PyLayer):
    """``F.layer_norm`` over the last axis of ``x`` ``[..., C]`` with ``weight``/``bias`` ``[C]``."""

    @staticmethod
    def forward(ctx, x, weight, bias, epsilon):
        ctx.save_for_backward(x, weight, bias)
        ctx.epsilon = epsilon
        return F.layer_norm(x, x.shape[-1:], weight, bias, epsilon)

    @staticmethod
    def backward(ctx, grad):
        x, weight, bias = ctx.saved_tensor()
        c = x.shape[-1]
        x2d, grad2d = x.reshape([-1, c]), grad.reshape([-1, c])  # [M, C]
        row_mean = paddle.full([c, 1], 1.0 / c, dtype=x.dtype)  # x2d @ row_mean: the mean of each row
        centered = x2d - paddle.matmul(x2d, row_mean)
        rstd = paddle.rsqrt(paddle.matmul(paddle.square(centered), row_mean) + ctx.epsilon)  # [M, 1]
        normed = centered * rstd
        column_sum = paddle.ones([1, x2d.shape[0]], dtype=x.dtype)  # column_sum @ t: the sum over rows
        weight_grad = None if weight.stop_gradient else paddle.matmul(column_sum, grad2d * normed).reshape([c])
        bias_grad = None if bias.stop_gradient else paddle.matmul(column_sum, grad2d).reshape([c])
        x_grad = None
        if not x.stop_gradient:
            g = grad2d * weight
            g_mean = paddle.matmul(g, row_mean)
            g_normed_mean = paddle.matmul(g * normed, row_mean)
            x_grad = ((g - g_mean - normed * g_normed_mean) * rstd).reshape(x.shape)
        return x_grad, weight_grad, bias_grad


class LayerNorm(nn.LayerNorm):
    """``nn.LayerNorm(dim, epsilon)`` (same parameters and names): normalises the last axis with a
    learned scale and shift; eager CPU runs the backward above, everything else Paddle's own."""

    def __init__(self, dim: int, epsilon: float = 1e-5):
        super().__init__(dim, epsilon=epsilon)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        if not cpu_fast_paths_enabled(x):
            return super().forward(x)
        return _LayerNorm.apply(x, self.weight, self.bias, self._epsilon)
