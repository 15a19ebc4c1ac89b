"""The video vision-transformer family: one stem, one block skeleton, one initialisation.

As in timm's ``VisionTransformer(block_fn=...)``, :class:`VideoVisionTransformer` holds what every video
ViT here shares and a :class:`Block` subclass supplies what differs, the attention step
(:meth:`Block.attend`) and the token layout it works on:

* :class:`SpaceOnlyBlock`: attention within each frame; tokens ``[B*T, 1+N, D]``, a class token per frame;
* :class:`JointSpaceTimeBlock`: one attention over the clip; tokens ``[B, 1+N*T, D]``, one class token,
  patch tokens patch-major, time-minor (``[cls, p0t0, p0t1, ..., p1t0, ...]``);
* ``DividedSpaceTimeBlock`` (:mod:`.timesformer`): temporal, then spatial attention; clip layout;
* ``TokenShiftBlock`` (:mod:`.token_shift_vit`): space-only attention with the class tokens shifted along
  time before the attention and before the MLP.

The stem: a conv patch embedding per frame, a class token and a learned position embedding over the
patch grid (the class token's entry first), resized nearest-neighbour when the input's grid differs
(TimeSformer; TokShift accepts only ``img_size``); the clip layout adds a learned time embedding to the
patch tokens. STTS token selection (:mod:`paddlevideo.modeling.token_selection`) runs between blocks in
either layout. Every block is pre-LN with LayerNorm ``epsilon``, exact GELU and stochastic depth rising
linearly to ``drop_path_rate``.

A registered backbone is a thin subclass: its constructor (the config schema), its block, the two
parameters of :func:`~..weight_init.init_vit_layer`, its pretrained loader and what it returns. Adding a
video ViT means one ``Block`` subclass (its ``attend``, ``tokens_per_frame`` and own parameters) and a
config: for TimeSformer, a new ``attention_type`` is one more row of ``timesformer.ATTENTION_BLOCKS``.
"""
import functools
from typing import Any, ClassVar, Dict, Optional, Tuple, Type

import paddle
import paddle.nn as nn

from ..layers import Attention, DropPath, LayerNorm, Mlp, PatchEmbed, nearest_indices
from ..layers.attention import ATTN_IMPLS
from ..layers.recompute import run_block
from ..token_selection import build_token_selection
from ..weight_init import CONV_INITS, init_vit_layer, trunc_normal_, zeros_


def resize_nearest_axis(x: paddle.Tensor, size: int, axis: int) -> paddle.Tensor:
    """``x`` resized to ``size`` entries along ``axis`` by nearest neighbour (a constant gather).

    Sizes are Python ints even in a static graph (only the batch is dynamic), so the indices are
    constants of the exported program.
    """
    if x.shape[axis] == size:
        return x
    index = paddle.to_tensor(nearest_indices(x.shape[axis], size))
    return paddle.index_select(x, index, axis=axis)


class Block(nn.Layer):
    """Pre-LN block skeleton: ``y = attend(x)``, then ``y + mlp(norm2(y))``.

    :meth:`attend` is the part a subclass changes; here it is ``x + attn(norm1(x))`` over all tokens of
    its input. Subclasses set ``tokens_per_frame``: True for ``[B*T, 1+N, D]`` (a sequence per frame),
    False for ``[B, 1+N*T, D]`` (a sequence per clip, patch-major, time-minor). The class token is token
    0 in both.

    Args:
        dim, num_heads, mlp_ratio, qkv_bias: the attention and MLP sizes.
        drop, attn_drop, drop_path: dropout after projections, on attention weights, stochastic depth.
        epsilon: LayerNorm epsilon.
        attn_impl: see :class:`~..layers.attention.Attention`.
        num_frames: frames per clip this block is built for (``num_seg``, or the kept count after a
            temporal token selection before it). Only an attention fixed to a clip length at
            construction uses it (the token shift); the others take ``num_frames`` from ``forward``.
    """

    tokens_per_frame: ClassVar[bool]

    def __init__(self, *, dim: int, num_heads: int, mlp_ratio: float, qkv_bias: bool, drop: float,
                 attn_drop: float, drop_path: float, epsilon: float, attn_impl: str, num_frames: int):
        super().__init__()
        self.norm1 = LayerNorm(dim, epsilon=epsilon)
        self.attn = Attention(dim, num_heads, qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=drop,
                              attn_impl=attn_impl)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = LayerNorm(dim, epsilon=epsilon)
        self.mlp = Mlp(dim, hidden_features=int(dim * mlp_ratio), drop=drop)

    def init_weights(self) -> None:
        """What this block initialises beyond :func:`~..weight_init.init_vit_layer` (here nothing)."""

    def forward(self, x: paddle.Tensor, num_frames: int, cls_only: bool = False,
                overwrite_input: bool = False) -> paddle.Tensor:
        """``[S, M, D]`` -> ``[S, M, D]``, or only the class token ``[S, 1, D]`` with ``cls_only``.

        Computing only the class token is exact: it still attends to every token. ``num_frames``: frames
        per clip in ``x``. ``overwrite_input``: the caller hands ``x`` over (the backbone's residual
        stream, read by nothing else), so the block may write into it.
        """
        y = self.attend(x, num_frames, cls_only, overwrite_input)
        return y + self.drop_path(self.mlp(self.norm2(y)))

    def attend(self, x: paddle.Tensor, num_frames: int, cls_only: bool, overwrite_input: bool) -> paddle.Tensor:
        """The attention step with its residual: ``x + attn(norm1(x))`` (``[S, M, D]``, or ``[S, 1, D]``
        with ``cls_only``)."""
        y = x[:, :1] if cls_only else x
        return y + self.drop_path(self.attn(self.norm1(x), 1 if cls_only else None))


class SpaceOnlyBlock(Block):
    """Attention within each frame: ``[B*T, 1+N, D]``; a per-frame image ViT block."""

    tokens_per_frame = True


class JointSpaceTimeBlock(Block):
    """One attention over all tokens of the clip: ``[B, 1+N*T, D]``."""

    tokens_per_frame = False


class VideoVisionTransformer(nn.Layer):
    """The shared backbone: input ``[B, C, T, H, W]``; :meth:`forward_blocks` returns the class tokens
    after the last block. Registered subclasses add the constructor, ``forward`` and, if they need it,
    :meth:`load_pretrained`.

    Args:
        block_fn: the :class:`Block` subclass of every block; ``block_kwargs`` are its own arguments.
        trunc_bound, conv_init: the initialisation, see :func:`~..weight_init.init_vit_layer`.
        per_clip_window: a spatial token selection keeps the same window in every frame of a clip.
        The others: see the registered backbones.
    """

    def __init__(self, *, block_fn: Type[Block], img_size: int, patch_size: int, in_channels: int,
                 embed_dim: int, depth: int, num_heads: int, mlp_ratio: float, qkv_bias: bool, drop_rate: float,
                 attn_drop_rate: float, drop_path_rate: float, epsilon: float, num_seg: int, attn_impl: str,
                 trunc_bound: Optional[float], conv_init: str, pretrained: Optional[str], recompute: bool,
                 token_selection: Optional[Dict], per_clip_window: bool,
                 block_kwargs: Optional[Dict[str, Any]] = None):
        super().__init__()
        if depth < 1 or num_seg < 1:
            raise ValueError(f"depth and num_seg must be >= 1, got depth={depth}, num_seg={num_seg}")
        if conv_init not in CONV_INITS:
            raise ValueError(f"conv_init must be one of {CONV_INITS}, got {conv_init!r}")
        self.tokens_per_frame = block_fn.tokens_per_frame
        self.num_seg, self.embed_dim, self.img_size, self.patch_size = num_seg, embed_dim, img_size, patch_size
        self.trunc_bound, self.conv_init = trunc_bound, conv_init
        self.pretrained, self.recompute = pretrained, recompute
        # The stem, under PaddleVideo's / PaddleClas' names (what checkpoints are keyed by); init_weights sets it.
        self.patch_embed = PatchEmbed(img_size=img_size, patch_size=patch_size, in_channels=in_channels,
                                      embed_dim=embed_dim)
        self.cls_token = self.create_parameter([1, 1, embed_dim])
        self.pos_embed = self.create_parameter([1, self.patch_embed.num_patches + 1, embed_dim])  # class token first
        self.pos_drop = nn.Dropout(drop_rate)
        self.time_embed = None if self.tokens_per_frame else self.create_parameter([1, num_seg, embed_dim])
        self.time_drop = None if self.tokens_per_frame else nn.Dropout(drop_rate)
        self.token_selection = build_token_selection(token_selection, embed_dim, depth,
                                                     per_clip_window=per_clip_window)
        rates = [drop_path_rate * i / max(depth - 1, 1) for i in range(depth)]
        self.blocks = nn.LayerList([  # each block is built for the frames it sees (fewer after temporal selection)
            block_fn(dim=embed_dim, num_heads=num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, drop=drop_rate,
                     attn_drop=attn_drop_rate, drop_path=rate, epsilon=epsilon, attn_impl=attn_impl,
                     num_frames=self.token_selection.frames_in_block(i, num_seg), **(block_kwargs or {}))
            for i, rate in enumerate(rates)])
        self.norm = LayerNorm(embed_dim, epsilon=epsilon)

    def init_weights(self) -> None:
        """Random init (std 0.02; zero time embedding; each block's own), then ``pretrained`` if set."""
        trunc_normal_(self.pos_embed, std=0.02, bound=self.trunc_bound)
        trunc_normal_(self.cls_token, std=0.02, bound=self.trunc_bound)
        self.apply(functools.partial(init_vit_layer, trunc_bound=self.trunc_bound, conv_init=self.conv_init))
        if self.time_embed is not None:
            zeros_(self.time_embed)  # official TimeSformer: an image-pretrained model starts as its image model
        for block in self.blocks:
            block.init_weights()
        if self.pretrained:
            self.load_pretrained(self.pretrained)

    def load_pretrained(self, path: str) -> None:
        """Initialise from the weights file at ``path`` (:func:`~..weights.load_pretrained_backbone`)."""
        from ..weights import load_pretrained_backbone
        load_pretrained_backbone(self, path)

    def set_attn_impl(self, attn_impl: str) -> None:
        """Switch every attention layer's path (export always uses ``explicit``)."""
        if attn_impl not in ATTN_IMPLS:
            raise ValueError(f"attn_impl must be one of {ATTN_IMPLS}, got '{attn_impl}'")
        for layer in self.sublayers():
            if isinstance(layer, Attention):
                layer.attn_impl = attn_impl

    def position_embedding(self, grid_h: int, grid_w: int) -> paddle.Tensor:
        """``pos_embed`` for a ``grid_h x grid_w`` patch grid: ``[1, 1 + grid_h*grid_w, D]``."""
        grid = self.patch_embed.grid_size
        if (grid_h, grid_w) == (grid, grid):
            return self.pos_embed
        patches = self.pos_embed[0, 1:].reshape([grid, grid, self.embed_dim])  # [P, P, D]
        patches = resize_nearest_axis(resize_nearest_axis(patches, grid_h, 0), grid_w, 1)  # [h, w, D]
        return paddle.concat([self.pos_embed[:, :1], patches.reshape([1, -1, self.embed_dim])], axis=1)

    def embed(self, x: paddle.Tensor) -> paddle.Tensor:
        """``[B, C, T, H, W]`` -> the first block's input: ``[B*T, 1+N, D]`` (frames as images) or
        ``[B, 1+N*T, D]`` (patch-major, time-minor, the time embedding added to the patch tokens)."""
        c, t, h, w = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
        grid_h, grid_w = h // self.patch_size, w // self.patch_size
        x = self.patch_embed(x.transpose([0, 2, 1, 3, 4]).reshape([-1, c, h, w]))  # [B*T, N, D]
        # The residual stream takes the parameters' dtype: float32 under AMP O1 (the patch conv's float16
        # output is cast up, as PyTorch autocast's promotion does), float16 under O2 (parameters cast).
        x = x.astype(self.pos_embed.dtype)
        pos = self.position_embedding(grid_h, grid_w)  # [1, 1+N, D]
        cls = self.cls_token + pos[:, :1]  # [1, 1, D]
        if self.tokens_per_frame:
            cls = paddle.tile(cls, [paddle.shape(x)[0], 1, 1])  # [B*T, 1, D] (the batch may be dynamic)
            return self.pos_drop(paddle.concat([cls, x + pos[:, 1:]], axis=1))  # [B*T, 1+N, D]
        n, d = x.shape[1], self.embed_dim
        x = self.pos_drop(x + pos[:, 1:]).reshape([-1, t, n, d]).transpose([0, 2, 1, 3])  # [B, N, T, D]
        time = resize_nearest_axis(self.time_embed, t, 1)  # [1, T, D]
        x = self.time_drop(x + time.unsqueeze(0)).reshape([-1, n * t, d])  # [B, N*T, D]
        cls = self.pos_drop(paddle.tile(cls, [paddle.shape(x)[0], 1, 1]))  # [B, 1, D]
        return paddle.concat([cls, x], axis=1)  # [B, 1+N*T, D]

    def forward_blocks(self, x: paddle.Tensor) -> Tuple[paddle.Tensor, int]:
        """``[B, C, T, H, W]`` -> the class tokens after the last block, ``[B*T', 1, D]`` (per frame) or
        ``[B, 1, D]``, and the frame count T' they come from (T without a temporal selection)."""
        t, grid = x.shape[2], (x.shape[3] // self.patch_size, x.shape[4] // self.patch_size)
        x = self.embed(x)
        recompute = self.recompute and self.training
        last = len(self.blocks) - 1
        for i, block in enumerate(self.blocks):
            x, t = self.select_tokens(x, t, grid, i)
            # Only the class token leaves the backbone: the last block computes just what it needs.
            x = run_block(block, x, t, i == last, recompute=recompute, overwrite_input=True)
        return x, t

    def select_tokens(self, x: paddle.Tensor, num_frames: int, grid: Tuple[int, int],
                      block_index: int) -> Tuple[paddle.Tensor, int]:
        """STTS before block ``block_index`` (identity where none is configured); returns the tokens in
        the block layout and the frames they hold: ``[B*T, 1+N, D]`` -> ``[B*T', 1+N', D]`` (per frame,
        every kept frame keeping its class token), ``[B, 1+N*T, D]`` -> ``[B, 1+N'*T', D]`` (per clip)."""
        if not self.token_selection.selects_before(block_index):
            return x, num_frames
        d = self.embed_dim
        if self.tokens_per_frame:
            x = self.token_selection(x.reshape([-1, num_frames, x.shape[1], d]), block_index, 1, grid)
            return x.reshape([-1, x.shape[2], d]), x.shape[1]  # [B*T', 1+N', D]
        n = (x.shape[1] - 1) // num_frames
        patches = x[:, 1:].reshape([-1, n, num_frames, d]).transpose([0, 2, 1, 3])  # [B, T, N, D]
        patches = self.token_selection(patches, block_index, 0, grid)  # [B, T', N', D]
        t, n = patches.shape[1], patches.shape[2]
        patches = patches.transpose([0, 2, 1, 3]).reshape([-1, n * t, d])  # [B, N'*T', D] patch-major
        return paddle.concat([x[:, :1], patches], axis=1), t  # [B, 1+N'*T', D]

    def extra_repr(self) -> str:
        return f"num_seg={self.num_seg}"
