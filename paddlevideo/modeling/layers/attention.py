"""Multi-head self-attention with an explicit reference path and a fused fast path.

The explicit path (``softmax(q k^T * head_dim**-0.5) v``) is what the official code computes and what
the exported graph always uses. The fused path calls
``paddle.nn.functional.scaled_dot_product_attention`` (layout ``[B, N, heads, head_dim]``), which only
pays off for fp16/bf16 on GPU; ``attn_impl='auto'`` picks it exactly then (on CPU fp32 it was slower than
the explicit path, 32 ms vs 25 ms for ``[8, 197, 12, 64]``, Paddle 3.3.1). The ``qkv`` and ``proj``
products run through :func:`.linear.linear` (faster eager CPU training, same exported graph).
"""
from typing import Optional

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .linear import linear

ATTN_IMPLS = ("auto", "explicit", "fused")
_LOW_PRECISION = (paddle.float16, paddle.bfloat16)


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
        self.qkv = nn.Linear(dim, dim * 3, bias_attr=None if qkv_bias else False)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def use_fused(self, dtype) -> bool:
        return self.attn_impl == "fused" or (self.attn_impl == "auto" and dtype in _LOW_PRECISION)

    def forward(self, x: paddle.Tensor, num_queries: Optional[int] = None) -> paddle.Tensor:
        """``[B, N, C]`` -> ``[B, Q, C]``: every token attends (Q = N), or only the first
        ``num_queries`` tokens do (keys and values still come from all N)."""
        n, c = x.shape[1], x.shape[2]
        qkv = linear(x, self.qkv.weight, self.qkv.bias)  # [B, N, 3*C]
        qkv = qkv.reshape([-1, n, 3, self.num_heads, self.head_dim])  # [B, N, 3, H, hd]
        q, k, v = qkv.unbind(axis=2)  # each [B, N, H, hd]
        if num_queries is not None:
            q = q[:, :num_queries]  # [B, Q, H, hd]
        if self.use_fused(q.dtype):
            out = F.scaled_dot_product_attention(
                q, k, v, dropout_p=self.attn_drop_prob, training=self.training)  # [B, Q, H, hd]
        else:
            out = self.explicit_attention(q, k, v)
        out = linear(out.reshape([-1, q.shape[1], c]), self.proj.weight, self.proj.bias)  # [B, Q, C]
        return self.proj_drop(out)

    def explicit_attention(self, q, k, v) -> paddle.Tensor:
        """Reference path: q ``[B, Q, H, hd]``, k/v ``[B, N, H, hd]`` -> ``[B, Q, H, hd]``."""
        q, k, v = (t.transpose([0, 2, 1, 3]) for t in (q, k, v))  # [B, H, Q|N, hd]
        attn = paddle.matmul(q * self.scale, k, transpose_y=True)  # [B, H, Q, N]
        attn = self.attn_drop(F.softmax(attn, axis=-1))
        return paddle.matmul(attn, v).transpose([0, 2, 1, 3])  # [B, N, H, hd]
