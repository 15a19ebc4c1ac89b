"""``x @ W + b`` for eager CPU training, with a hand-written backward; the exported graph keeps ``F.linear``.

Why (Paddle 3.3.1 CPU, 2 threads, ``[1576, 768] @ [768, 3072]``, the MLP input of ViT-B/16 8x224):

* Paddle's bias gradient, a ``sum`` over the 1576 rows, took 19 ms; the same sum as a matrix-vector
  product with a ones vector took 0.3 ms (PyTorch's ``sum``: 0.3 ms). The bias gradients were 12% of
  a ViT-B train step (``AddGradNode``).
* Paddle's matmul gradient took ~13 ms more than its two matmuls (``dy W^T``, ``x^T dy``) alone.
* The forward's separate broadcast bias add took ~10 ms on that output; ``addmm`` adds the bias
  inside the GEMM call.

Values: the same two GEMMs per gradient; only the summation order of the bias gradient and of the
bias add differ (float32 rounding, tested against ``F.linear``).

The fast path is switched off, with the others, by :func:`.fast_paths.reference_kernels`.
"""
import paddle
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
