"""``nn.Linear`` with a faster eager-CPU forward and backward; the exported graph keeps ``F.linear``.

:class:`Linear` is a subclass of ``nn.Linear`` with the same parameters (``weight`` ``[K, N]``, ``bias``
``[N]``) and the same auto-generated parameter names, so state dicts, forward hooks and wrappers see an
ordinary Linear layer. Its forward is :func:`linear`, which differs from Paddle's in three places, each
slow in Paddle 3.3.1's CPU kernels on the token matrices of a ViT:

* the bias gradient, a sum over the rows of the output gradient, is a matrix-vector product with a ones
  vector (Paddle's ``sum`` over rows is slow);
* the input and weight gradients are the two GEMMs ``dy W^T`` and ``x^T dy`` alone (Paddle's matmul
  gradient adds overhead around them);
* the bias is added inside the GEMM call (``addmm``) instead of as a separate broadcast add.

Values: the same two GEMMs per gradient; only the summation order of the bias gradient and of the
bias add differ (float32 rounding, tested against ``F.linear``).

The fast path is switched off, with the others, by :func:`.fast_paths.reference_kernels`.
"""
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddle.autograd import PyLayer

from .fast_paths import cpu_fast_paths_enabled


def _gemm(x2d: paddle.Tensor, weight: paddle.Tensor, bias) -> paddle.Tensor:
    """``[M, K] @ [K, N] (+ [N])`` -> ``[M, N]``."""
    if bias is None:
        return paddle.matmul(x2d, weight)
    return paddle.addmm(bias, x2d, weight)


def _input_grad(grad2d: paddle.Tensor, weight: paddle.Tensor, x: paddle.Tensor):
    """``dy @ W^T`` in the shape of ``x``; None when ``x`` needs no gradient."""
    if x.stop_gradient:
        return None
    return paddle.matmul(grad2d, weight, transpose_y=True).reshape(x.shape)


def _weight_grad(grad2d: paddle.Tensor, x: paddle.Tensor, weight: paddle.Tensor):
    """``x^T @ dy`` ``[K, N]``; None for a frozen (``stop_gradient``) weight, which Paddle requires."""
    if weight.stop_gradient:
        return None
    return paddle.matmul(x.reshape([-1, x.shape[-1]]), grad2d, transpose_x=True)


def _bias_grad(grad2d: paddle.Tensor, bias: paddle.Tensor):
    """The row sum of ``dy`` as a GEMV with a ones vector; None for a frozen bias."""
    if bias.stop_gradient:
        return None
    ones = paddle.ones([1, grad2d.shape[0]], dtype=grad2d.dtype)
    return paddle.matmul(ones, grad2d).reshape([-1])  # [N]


class _Linear(PyLayer):
    """``x @ W`` with ``x`` ``[..., K]``, ``W`` ``[K, N]`` -> ``[..., N]``."""

    @staticmethod
    def forward(ctx, x, weight):
        ctx.save_for_backward(x, weight)
        return _gemm(x.reshape([-1, x.shape[-1]]), weight, None).reshape(x.shape[:-1] + [weight.shape[1]])

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensor()
        grad2d = grad.reshape([-1, grad.shape[-1]])  # [M, N]
        return _input_grad(grad2d, weight, x), _weight_grad(grad2d, x, weight)


class _LinearBias(PyLayer):
    """``x @ W + b`` with ``x`` ``[..., K]``, ``W`` ``[K, N]``, ``b`` ``[N]`` -> ``[..., N]``."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight, bias)
        return _gemm(x.reshape([-1, x.shape[-1]]), weight, bias).reshape(x.shape[:-1] + [weight.shape[1]])

    @staticmethod
    def backward(ctx, grad):
        x, weight, bias = ctx.saved_tensor()
        grad2d = grad.reshape([-1, grad.shape[-1]])  # [M, N]
        return _input_grad(grad2d, weight, x), _weight_grad(grad2d, x, weight), _bias_grad(grad2d, bias)


def linear(x: paddle.Tensor, weight: paddle.Tensor, bias=None) -> paddle.Tensor:
    """``F.linear(x, weight, bias)``: ``x`` ``[..., K]``, ``weight`` ``[K, N]``, ``bias`` ``[N]`` or None.

    Eager CPU uses the faster kernels above. Static graphs (``to_static``/export), GPU and code inside
    :func:`reference_kernels` run ``F.linear``, so the exported program is unchanged.
    """
    if not cpu_fast_paths_enabled(x):
        return F.linear(x, weight, bias)
    if bias is None:
        return _Linear.apply(x, weight)
    return _LinearBias.apply(x, weight, bias)


class Linear(nn.Linear):
    """``nn.Linear(in_features, out_features, bias_attr=...)`` (same parameters and names): ``[..., K]`` ->
    ``[..., N]``; eager CPU runs :func:`linear`'s kernels, everything else Paddle's own."""

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return linear(x, self.weight, self.bias)
