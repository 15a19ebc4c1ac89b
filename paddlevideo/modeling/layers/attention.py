"""Multi-head self-attention with an explicit reference path and a fused fast path.

The explicit path (``softmax(q k^T * head_dim**-0.5) v``) is what the official code computes and what
the exported graph always uses. The fused path calls
``paddle.nn.functional.scaled_dot_product_attention`` (layout ``[B, N, heads, head_dim]``), which pays
off for fp16/bf16 on a GPU (on CPU in fp32 it was slower than the explicit path). ``attn_impl='auto'``
takes it only where it runs as FlashAttention (:func:`auto_uses_fused`). ``qkv`` and ``proj`` are
:class:`.linear.Linear` layers (faster eager CPU training, same exported graph).
"""
from typing import Optional

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ...utils.gpu import Capability, dtype_name, flash_attention_supported, format_capability, gpu_capability
from ...utils.logger import get_logger
from .linear import Linear

ATTN_IMPLS = ("auto", "explicit", "fused")
_LOW_PRECISION = (paddle.float16, paddle.bfloat16)
FLASH_MAX_HEAD_DIM = 256  # paddle/nn/functional/sdpa.py, check_head_dim_size_flash (also: a multiple of 8)
_REPORTED = set()  # (dtype, capability, fused) choices of 'auto' already logged


def auto_uses_fused(dtype: paddle.dtype, head_dim: int) -> bool:
    """Whether ``attn_impl='auto'`` takes the fused path for query/key/value of ``dtype``.

    Only where the kernel is FlashAttention: fp16/bf16 on a GPU of compute capability 8.0 or newer
    (:func:`~paddlevideo.utils.gpu.flash_attention_supported`) with a head size it accepts. Elsewhere
    the fused call is no help or unsafe: on CPU it is the explicit computation composed by Paddle; on
    a V100/T4 (7.x), Paddle 3.0 calls FlashAttention (built for 8.0+) whenever there is no mask, while
    3.3.1 falls back to its memory-efficient kernel (fp16) or to the composition (bf16).
    ``attn_impl: fused`` still reaches those fallbacks. Each choice is logged once.

    Args:
        dtype: dtype of query, key and value.
        head_dim: channels per head.

    Returns:
        True for the fused path, False for the explicit one (always False for float32).
    """
    if dtype not in _LOW_PRECISION:
        return False
    capability = gpu_capability()
    fused = (flash_attention_supported(dtype, capability) and head_dim <= FLASH_MAX_HEAD_DIM
             and head_dim % 8 == 0)
    _report_once(dtype, capability, head_dim, fused)
    return fused


def _report_once(dtype: paddle.dtype, capability: Capability, head_dim: int, fused: bool) -> None:
    """Log the path 'auto' took, the first time it takes it for this dtype and device."""
    key = (dtype, capability, fused)
    if key in _REPORTED:
        return
    _REPORTED.add(key)
    if fused:
        get_logger().info("attn_impl auto: fused attention (FlashAttention) for %s on compute capability %s",
                          dtype_name(dtype), format_capability(capability))
    else:
        get_logger().info("attn_impl auto: explicit attention for %s (%s, head_dim %d): FlashAttention needs "
                          "compute capability 8.0+ and head_dim <= 256, a multiple of 8",
                          dtype_name(dtype), format_capability(capability), head_dim)


class Attention(nn.Layer):
    """Multi-head self-attention: ``[B, N, C] -> [B, N, C]``."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True, attn_drop: float = 0.0,
                 proj_drop: float = 0.0, attn_impl: str = "auto"):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"embed_dim {dim} is not divisible by num_heads {num_heads}")
        if attn_impl not in ATTN_IMPLS:
            raise ValueError(f"attn_impl must be one of {ATTN_IMPLS}, got '{attn_impl}'")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim**-0.5
        self.attn_impl = attn_impl
        self.attn_drop_prob = attn_drop
        self.qkv = Linear(dim, dim * 3, bias_attr=None if qkv_bias else False)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def use_fused(self, dtype: paddle.dtype) -> bool:
        """Whether this forward takes the fused path (``attn_impl`` and, for ``auto``, the device)."""
        if self.attn_impl == "auto":
            return auto_uses_fused(dtype, self.head_dim)
        return self.attn_impl == "fused"

    def forward(self, x: paddle.Tensor, num_queries: Optional[int] = None) -> paddle.Tensor:
        """``[B, N, C]`` -> ``[B, Q, C]``: every token attends (Q = N), or only the first
        ``num_queries`` tokens do (keys and values still come from all N)."""
        n, c = x.shape[1], x.shape[2]
        qkv = self.qkv(x)  # [B, N, 3*C]
        qkv = qkv.reshape([-1, n, 3, self.num_heads, self.head_dim])  # [B, N, 3, H, hd]
        q, k, v = qkv.unbind(axis=2)  # each [B, N, H, hd]
        if num_queries is not None:
            q = q[:, :num_queries]  # [B, Q, H, hd]
        if self.use_fused(q.dtype):
            # dropout_p is zeroed in eval too: Paddle 3.0's call without a mask drops `training`.
            dropout_p = self.attn_drop_prob if self.training else 0.0
            out = F.scaled_dot_product_attention(
                q, k, v, dropout_p=dropout_p, training=self.training)  # [B, Q, H, hd]
        else:
            out = self.explicit_attention(q, k, v)
        out = self.proj(out.reshape([-1, q.shape[1], c]))  # [B, Q, C]
        return self.proj_drop(out)

    def explicit_attention(self, q, k, v) -> paddle.Tensor:
        """Reference path: q ``[B, Q, H, hd]``, k/v ``[B, N, H, hd]`` -> ``[B, Q, H, hd]``."""
        q, k, v = (t.transpose([0, 2, 1, 3]) for t in (q, k, v))  # [B, H, Q|N, hd]
        attn = paddle.matmul(q * self.scale, k, transpose_y=True)  # [B, H, Q, N]
        attn = self.attn_drop(F.softmax(attn, axis=-1))
        return paddle.matmul(attn, v).transpose([0, 2, 1, 3])  # [B, N, H, hd]
