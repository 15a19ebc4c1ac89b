"""Token Shift Transformer backbone (Zhang, Hao and Ngo, ACM MM 2021).

Faithful to the official PyTorch code (github.com/VideoNetworks/TokShift-Transformer, ``VER: 3``):

* a per-frame ViT: conv patch embedding, class token, learned position embedding, pre-LN blocks with
  LayerNorm eps 1e-6, exact GELU, q/k/v biases and attention scale ``head_dim**-0.5``, final LayerNorm;
* frames are processed as a batch of images ``[B*T, ...]`` with frame index ``b*T + t``;
* every block shifts the class token along time twice, before attention and before the MLP, and the
  shifted tensor is also the residual: ``x = shift(x); x = x + attn(norm1(x)); x = shift(x);
  x = x + mlp(norm2(x))``;
* ``shift_div: 0`` disables the shift, which is the "ViT (Video)" baseline of the model zoo.

Parameter names match PaddleVideo's TokShift port and PaddleClas' ViT, so their checkpoints load unchanged.

``recompute: True`` trades compute for memory in training (:mod:`paddlevideo.modeling.layers.recompute`).

``token_selection`` adds STTS (:mod:`paddlevideo.modeling.token_selection`): position embeddings are added
first; a temporal selection keeps the best frames (each with its class token) in their original order,
and every block after it is built for the kept count, so the token shift exchanges channels between
consecutive *kept* frames (frame ``k`` with kept frames ``k-1`` and ``k+1``); sampling 16 frames and
keeping 8 (``num_seg: 16``, ``keep: 0.5``) therefore shifts between the 8 chosen ones. A spatial
selection keeps one window of patch tokens per frame (windows may differ between frames: the shift only
moves class tokens, so nothing needs an aligned grid) plus the frame's class token.
"""
from typing import Dict, Optional

import paddle
import paddle.nn as nn

from ...registry import BACKBONES
from ..layers import Attention, DropPath, LayerNorm, Mlp, TokenShift
from ..layers.attention import ATTN_IMPLS
from ..layers.recompute import run_block
from ..layers.vit_stem import add_vit_stem
from ..token_selection import build_token_selection
from ..weight_init import init_vit_layer, trunc_normal_


class Block(nn.Layer):
    """Pre-LN transformer block with a token shift before each residual branch."""

    def __init__(self, *, dim: int, num_heads: int, mlp_ratio: float, qkv_bias: bool, drop: float,
                 attn_drop: float, drop_path: float, epsilon: float, num_seg: int, shift_div: int,
                 attn_impl: str):
        super().__init__()
        self.shift = TokenShift(num_seg, shift_div) if shift_div else None
        self.norm1 = LayerNorm(dim, epsilon=epsilon)
        self.attn = Attention(dim, num_heads, qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=drop,
                              attn_impl=attn_impl)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = LayerNorm(dim, epsilon=epsilon)
        self.mlp = Mlp(dim, hidden_features=int(dim * mlp_ratio), drop=drop)

    def forward(self, x: paddle.Tensor, num_out_tokens: Optional[int] = None,
                overwrite_input: bool = False) -> paddle.Tensor:
        """``[B*T, N, C]`` -> ``[B*T, N, C]``, or only the first ``num_out_tokens`` tokens.

        Computing just the tokens a caller keeps is exact: attention still reads every token.
        ``overwrite_input``: the caller hands ``x`` over (the backbone's residual stream, read by nothing
        else), so the first token shift may write into it (:func:`.token_shift`'s ``overwrite``). The
        second shift always writes into the block's own intermediate sum.
        """
        x = self.shifted(x, overwrite_input)
        y = x if num_out_tokens is None else x[:, :num_out_tokens]
        y = y + self.drop_path(self.attn(self.norm1(x), num_out_tokens))
        y = self.shifted(y, True)
        return y + self.drop_path(self.mlp(self.norm2(y)))

    def shifted(self, x: paddle.Tensor, overwrite: bool) -> paddle.Tensor:
        """The token shift of ``x`` (``x`` itself with ``shift_div: 0``)."""
        return x if self.shift is None else self.shift(x, overwrite)


@BACKBONES.register()
class TokenShiftVisionTransformer(nn.Layer):
    """Per-frame ViT with token shift; input ``[B, 3, T, H, W]``, output class tokens ``[B, T, D]``.

    Args:
        img_size: input height and width (square); must be a multiple of ``patch_size``.
        num_seg: frames per clip ``T``; the head averages over them.
        shift_div: ``embed_dim // shift_div`` channels shift each way; 0 disables the shift.
        epsilon: LayerNorm epsilon (1e-6 in the official ViT).
        attn_impl: ``auto`` (fused kernel for fp16/bf16 where it runs as FlashAttention, explicit
            otherwise; see :func:`..layers.attention.auto_uses_fused`), ``explicit`` or ``fused``.
        pretrained: optional path to image-pretrained ViT weights used as initialisation.
        recompute: in training, keep only each block's input and recompute its activations during
            backward (less memory, about one extra forward per step). Eval and export are unaffected.
        token_selection: STTS ``{temporal: {block, keep, ...}, spatial: {block, keep, ...}}`` (either may
            be absent; see :mod:`paddlevideo.modeling.token_selection`). The output then has the kept
            number of frames, ``[B, T', D]``.
    """

    def __init__(self, img_size: int = 224, patch_size: int = 16, in_channels: int = 3,
                 embed_dim: int = 768, depth: int = 12, num_heads: int = 12, mlp_ratio: float = 4.0,
                 qkv_bias: bool = True, drop_rate: float = 0.0, attn_drop_rate: float = 0.0,
                 drop_path_rate: float = 0.0, epsilon: float = 1e-6, num_seg: int = 8,
                 shift_div: int = 4, attn_impl: str = "auto", pretrained: Optional[str] = None,
                 recompute: bool = False, token_selection: Optional[Dict] = None):
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        validate_shift(embed_dim, num_seg, shift_div)
        self.num_seg = num_seg
        self.embed_dim = embed_dim
        self.img_size = img_size
        self.pretrained = pretrained
        self.recompute = recompute
        add_vit_stem(self, img_size=img_size, patch_size=patch_size, in_channels=in_channels, embed_dim=embed_dim,
                     drop_rate=drop_rate)
        self.token_selection = build_token_selection(token_selection, embed_dim, depth)
        self.num_frames_out = self.token_selection.frames_in_block(depth - 1, num_seg)
        rates = [drop_path_rate * i / max(depth - 1, 1) for i in range(depth)]
        self.blocks = nn.LayerList([  # each block shifts over the frames it sees (fewer after temporal selection)
            Block(dim=embed_dim, num_heads=num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, drop=drop_rate,
                  attn_drop=attn_drop_rate, drop_path=rate, epsilon=epsilon,
                  num_seg=self.token_selection.frames_in_block(i, num_seg), shift_div=shift_div,
                  attn_impl=attn_impl) for i, rate in enumerate(rates)])
        self.norm = LayerNorm(embed_dim, epsilon=epsilon)

    def init_weights(self) -> None:
        """Random init (std 0.02), then the image-pretrained weights if ``pretrained`` is set."""
        trunc_normal_(self.pos_embed, std=0.02)
        trunc_normal_(self.cls_token, std=0.02)
        self.apply(init_vit_layer)
        if self.pretrained:
            from ..weights import load_pretrained_backbone
            load_pretrained_backbone(self, self.pretrained)

    def set_attn_impl(self, attn_impl: str) -> None:
        """Switch every block's attention path (export always uses ``explicit``)."""
        if attn_impl not in ATTN_IMPLS:
            raise ValueError(f"attn_impl must be one of {ATTN_IMPLS}, got '{attn_impl}'")
        for block in self.blocks:
            block.attn.attn_impl = attn_impl

    def forward_features(self, x: paddle.Tensor) -> paddle.Tensor:
        """``[B, 3, T, H, W]`` -> final-normed class tokens ``[B*T, D]``."""
        c, h, w = x.shape[1], x.shape[3], x.shape[4]
        x = x.transpose([0, 2, 1, 3, 4]).reshape([-1, c, h, w])  # [B*T, 3, H, W]
        # The residual stream takes the parameters' dtype: float32 under AMP O1 (the patch conv's float16
        # output is cast up, as PyTorch autocast's promotion does), float16 under O2 (parameters cast).
        x = self.patch_embed(x).astype(self.pos_embed.dtype)  # [B*T, N, D]
        cls = self.cls_token.expand([x.shape[0], -1, -1])  # [B*T, 1, D]
        x = paddle.concat([cls, x], axis=1) + self.pos_embed  # [B*T, N+1, D]
        x = self.pos_drop(x)
        last = len(self.blocks) - 1
        for i, block in enumerate(self.blocks):
            x = self.select_tokens(x, i)
            # Only the class token leaves the backbone, so the last block computes just that token
            # (queries, projection and MLP for 1 of N+1 tokens; ~6% of a ViT-B/16 forward, exact).
            x = run_block(block, x, 1 if i == last else None, recompute=self.recompute and self.training,
                          overwrite_input=True)
        return self.norm(x)[:, 0]  # [B*T', D]

    def select_tokens(self, x: paddle.Tensor, block_index: int) -> paddle.Tensor:
        """STTS before block ``block_index`` (identity where none is configured): ``[B*T, 1+N, D]`` ->
        ``[B*T', 1+N', D]``, every kept frame keeping its class token."""
        if not self.token_selection.selects_before(block_index):
            return x
        t = self.token_selection.frames_in_block(block_index - 1, self.num_seg)
        grid = (self.patch_embed.grid_size, self.patch_embed.grid_size)
        x = self.token_selection(x.reshape([-1, t, x.shape[1], x.shape[2]]), block_index, 1, grid)  # [B, T', 1+N', D]
        return x.reshape([-1, x.shape[2], x.shape[3]])  # [B*T', 1+N', D]

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        """``[B, 3, T, H, W]`` -> per-frame class tokens ``[B, T', D]`` (T' = T without temporal selection)."""
        if x.shape[2] != self.num_seg:
            raise ValueError(f"expected {self.num_seg} frames (num_seg), got input shape {list(x.shape)}")
        return self.forward_features(x).reshape([-1, self.num_frames_out, self.embed_dim])


def validate_shift(embed_dim: int, num_seg: int, shift_div: int) -> None:
    """Reject shift settings that would shift nothing or overlap the two shifted folds."""
    if num_seg < 1:
        raise ValueError(f"num_seg must be >= 1, got {num_seg}")
    if shift_div < 0 or (shift_div and (embed_dim // shift_div == 0 or shift_div < 2)):
        raise ValueError(
            f"shift_div must be 0 (no shift) or in [2, embed_dim={embed_dim}], got {shift_div}")
