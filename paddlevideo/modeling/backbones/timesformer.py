"""TimeSformer backbone (Bertasius, Wang and Torresani, "Is Space-Time Attention All You Need for Video
Understanding?", ICML 2021), registered as ``VisionTransformer``, PaddleVideo's name for it.

Faithful to the official PyTorch code (github.com/facebookresearch/TimeSformer,
``timesformer/models/vit.py``):

* conv patch embedding per frame, one class token per clip, a learned position embedding over the patch
  grid (the class token's entry included) and a learned time embedding added to the patch tokens only;
* tokens are ordered patch-major, time-minor: ``[cls, p0t0, p0t1, ..., p0t(T-1), p1t0, ...]``;
* ``divided_space_time`` blocks: temporal attention over the T tokens of each patch (no class token),
  then ``temporal_fc``, then the residual; spatial attention per frame over ``[copy of cls ; that
  frame's tokens]`` whose input and residual are the temporal result; the new class token is the old
  one plus the mean over frames of the class outputs; then the MLP;
* ``space_only``: a per-frame ViT (no time embedding) whose tokens are averaged over frames before the
  final LayerNorm; ``joint_space_time``: one attention over all ``1 + N*T`` tokens;
* LayerNorm eps 1e-6, exact GELU, q/k/v biases, scale ``head_dim**-0.5``, final LayerNorm, the class
  token is the feature; stochastic depth rates rise linearly to ``drop_path_rate`` (0.1 officially);
* a clip whose frame count differs from ``num_seg`` gets the time embedding resized to T, and an input
  whose patch grid differs from ``img_size`` (square or not) gets the position grid resized, both
  nearest-neighbour as the official forward (``F.interpolate(mode='nearest')``);
* initialisation: trunc-normal std 0.02 for Linear weights, class token and position embedding; zero
  ``time_embed`` and zero ``temporal_fc`` in every block (an image-pretrained model starts as its image
  model); see :mod:`paddlevideo.modeling.weights.timesformer` for image-ViT initialisation.

Parameter names are PaddleVideo's (``time_embed``, ``blocks.i.temporal_norm1``, ``temporal_attn``,
``temporal_fc``), so its TimeSformer checkpoints load unchanged. Not copied from PaddleVideo's port: the
crash on a clip of another length, the input size assertion (and its square-only token arithmetic),
std 1.0 Linear init and LayerNorm eps 1e-5 as class defaults.

Two deliberate differences from the official forward, neither changes a result it computes: the position
grid is resized whenever the patch grid differs (the official code looks only at the token count, so a
non-square input with as many patches as the model would get a misaligned grid), and the last block
computes only what the class token needs (exact; see ``Block.forward``).

``token_selection`` adds STTS (:mod:`paddlevideo.modeling.token_selection`) after the position and time
embeddings. Temporal selection keeps the best frames in their original order (their time embeddings
were already added, so a kept frame keeps its time identity). Spatial selection keeps **one window per
clip**, the same patch positions in every frame: window scores are summed over the clip's frames (the
scorer's global feature is pooled over the clip), because divided attention needs an aligned grid
(temporal attention runs over the T tokens of one patch position). The clip's class token is always
kept; the blocks after a temporal selection see the kept frame count.
"""
import math
from typing import Dict, Optional, Tuple

import paddle
import paddle.nn as nn
from paddle.nn.initializer import Uniform

from ...registry import BACKBONES
from ..layers import Attention, DropPath, LayerNorm, Mlp, nearest_indices
from ..layers.attention import ATTN_IMPLS
from ..layers.recompute import run_block
from ..layers.vit_stem import add_vit_stem
from ..token_selection import build_token_selection
from ..weight_init import ones_, trunc_normal_, zeros_

ATTENTION_TYPES = ("divided_space_time", "space_only", "joint_space_time")
TRUNC_BOUND = 2.0  # timm's trunc_normal_(std=.02) cuts at +-2 (absolute): effectively N(0, 0.02)


def init_timesformer_layer(layer: nn.Layer) -> None:
    """The official ``_init_weights``: Linear N(0, 0.02) (truncated at +-2) with zero bias, LayerNorm
    (1, 0); the patch conv, which it leaves alone, gets PyTorch's default ``U(+-1/sqrt(fan_in))``."""
    if isinstance(layer, nn.Linear):
        trunc_normal_(layer.weight, std=0.02, bound=TRUNC_BOUND)
        if layer.bias is not None:
            zeros_(layer.bias)
    elif isinstance(layer, nn.LayerNorm):
        ones_(layer.weight)
        zeros_(layer.bias)
    elif isinstance(layer, nn.Conv2D):
        bound = 1.0 / math.sqrt(int(layer.weight.shape[1] * layer.weight.shape[2] * layer.weight.shape[3]))
        Uniform(-bound, bound)(layer.weight)
        if layer.bias is not None:
            Uniform(-bound, bound)(layer.bias)


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
    """Pre-LN ViT block: ``x + attn(norm1(x))``, then ``x + mlp(norm2(x))``.

    Used per frame (``space_only``, input ``[B*T, 1+N, D]``) and over the whole clip
    (``joint_space_time``, input ``[B, 1+N*T, D]``); the class token is token 0 in both.
    """

    def __init__(self, *, dim: int, num_heads: int, mlp_ratio: float, qkv_bias: bool, drop: float,
                 attn_drop: float, drop_path: float, epsilon: float, attn_impl: str):
        super().__init__()
        self.norm1 = LayerNorm(dim, epsilon=epsilon)
        self.attn = Attention(dim, num_heads, qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=drop,
                              attn_impl=attn_impl)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = LayerNorm(dim, epsilon=epsilon)
        self.mlp = Mlp(dim, hidden_features=int(dim * mlp_ratio), drop=drop)

    def forward(self, x: paddle.Tensor, num_frames: int, cls_only: bool = False) -> paddle.Tensor:
        """``[*, 1+M, D]`` -> ``[*, 1+M, D]``, or only the class token ``[*, 1, D]`` with ``cls_only``
        (exact: the class token still attends to every token). ``num_frames`` is unused here."""
        y = x[:, :1] if cls_only else x
        y = y + self.drop_path(self.attn(self.norm1(x), 1 if cls_only else None))
        return y + self.drop_path(self.mlp(self.norm2(y)))


class DividedBlock(Block):
    """Divided space-time block: temporal attention, then spatial attention, then the MLP.

    Input and output ``[B, 1 + N*T, D]`` with tokens patch-major, time-minor.
    """

    def __init__(self, *, dim: int, num_heads: int, mlp_ratio: float, qkv_bias: bool, drop: float,
                 attn_drop: float, drop_path: float, epsilon: float, attn_impl: str):
        super().__init__(dim=dim, num_heads=num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, drop=drop,
                         attn_drop=attn_drop, drop_path=drop_path, epsilon=epsilon, attn_impl=attn_impl)
        self.temporal_norm1 = LayerNorm(dim, epsilon=epsilon)
        self.temporal_attn = Attention(dim, num_heads, qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=drop,
                                       attn_impl=attn_impl)
        self.temporal_fc = nn.Linear(dim, dim)

    def forward(self, x: paddle.Tensor, num_frames: int, cls_only: bool = False) -> paddle.Tensor:
        """``[B, 1+N*T, D]`` -> ``[B, 1+N*T, D]``, or ``[B, 1, D]`` with ``cls_only``.

        With ``cls_only`` the spatial attention computes only the class queries (keys and values still
        come from every token) and the MLP runs on the class token alone: exactly the class token of
        the full block, at about half the cost of the last block.
        """
        t, d = num_frames, x.shape[2]
        n = (x.shape[1] - 1) // t
        cls, tokens = x[:, :1], x[:, 1:]  # [B, 1, D], [B, N*T, D]
        xt = tokens.reshape([-1, t, d])  # [B*N, T, D]: the T tokens of one patch
        res = self.drop_path(self.temporal_attn(self.temporal_norm1(xt)))  # [B*N, T, D]
        tokens = tokens + self.temporal_fc(res.reshape([-1, n * t, d]))  # [B, N*T, D]

        xs = tokens.reshape([-1, n, t, d]).transpose([0, 2, 1, 3])  # [B, T, N, D]
        cls_copies = paddle.tile(cls.unsqueeze(1), [1, t, 1, 1])  # [B, T, 1, D]
        xs = paddle.concat([cls_copies, xs], axis=2).reshape([-1, 1 + n, d])  # [B*T, 1+N, D]
        res = self.drop_path(self.attn(self.norm1(xs), 1 if cls_only else None))  # [B*T, Q, D]
        res = res.reshape([-1, t, res.shape[1], d])  # [B, T, Q, D]
        cls = cls + res[:, :, 0].mean(axis=1, keepdim=True)  # [B, 1, D]: mean over frames
        if cls_only:
            x = cls
        else:
            res_tokens = res[:, :, 1:].transpose([0, 2, 1, 3]).reshape([-1, n * t, d])  # [B, N*T, D]
            x = paddle.concat([cls, tokens + res_tokens], axis=1)  # [B, 1+N*T, D]
        return x + self.drop_path(self.mlp(self.norm2(x)))


@BACKBONES.register()
class VisionTransformer(nn.Layer):
    """TimeSformer: input ``[B, 3, T, H, W]``, output the final-normed class token ``[B, D]``.

    Args:
        img_size: the training crop (square); sets the position-embedding grid. Other input sizes,
            square or not, work with the grid resized (nearest). Must be a multiple of ``patch_size``.
        num_seg: frames per clip the time embedding is learned for; other clip lengths work with the
            embedding resized (nearest). The recognizer splits test views by it.
        attention_type: ``divided_space_time`` (TimeSformer), ``space_only`` or ``joint_space_time``.
        epsilon: LayerNorm epsilon (1e-6 in the official model).
        drop_path_rate: stochastic depth of the last block (0.1 in the official model).
        attn_impl: ``auto`` (fused kernel for fp16/bf16 where it runs as FlashAttention, explicit
            otherwise; see :func:`..layers.attention.auto_uses_fused`), ``explicit`` or ``fused``.
        pretrained: optional weights file initialising the backbone (image ViT or TimeSformer).
        recompute: in training, keep only each block's input and recompute its activations during
            backward (:mod:`paddlevideo.modeling.layers.recompute`). Eval and export are unaffected.
        token_selection: STTS ``{temporal: {block, keep, ...}, spatial: {block, keep, ...}}`` (either may
            be absent); the spatial window is shared by all frames of a clip.
    """

    def __init__(self, img_size: int = 224, patch_size: int = 16, in_channels: int = 3,
                 embed_dim: int = 768, depth: int = 12, num_heads: int = 12, mlp_ratio: float = 4.0,
                 qkv_bias: bool = True, drop_rate: float = 0.0, attn_drop_rate: float = 0.0,
                 drop_path_rate: float = 0.1, epsilon: float = 1e-6, num_seg: int = 8,
                 attention_type: str = "divided_space_time", attn_impl: str = "auto",
                 pretrained: Optional[str] = None, recompute: bool = False,
                 token_selection: Optional[Dict] = None):
        super().__init__()
        if attention_type not in ATTENTION_TYPES:
            raise ValueError(f"attention_type must be one of {list(ATTENTION_TYPES)}, got {attention_type!r}")
        if depth < 1 or num_seg < 1:
            raise ValueError(f"depth and num_seg must be >= 1, got depth={depth}, num_seg={num_seg}")
        self.attention_type = attention_type
        self.num_seg = num_seg
        self.embed_dim = embed_dim
        self.img_size = img_size
        self.patch_size = patch_size
        self.pretrained = pretrained
        self.recompute = recompute
        add_vit_stem(self, img_size=img_size, patch_size=patch_size, in_channels=in_channels, embed_dim=embed_dim,
                     drop_rate=drop_rate)
        if attention_type != "space_only":
            self.time_embed = self.create_parameter([1, num_seg, embed_dim])
            self.time_drop = nn.Dropout(drop_rate)
        self.token_selection = build_token_selection(token_selection, embed_dim, depth, per_clip_window=True)
        block_cls = DividedBlock if attention_type == "divided_space_time" else Block
        rates = [drop_path_rate * i / max(depth - 1, 1) for i in range(depth)]
        self.blocks = nn.LayerList([
            block_cls(dim=embed_dim, num_heads=num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, drop=drop_rate,
                      attn_drop=attn_drop_rate, drop_path=rate, epsilon=epsilon, attn_impl=attn_impl)
            for rate in rates])
        self.norm = LayerNorm(embed_dim, epsilon=epsilon)

    def init_weights(self) -> None:
        """Official init (std 0.02; zero time embedding and ``temporal_fc``), then ``pretrained``."""
        trunc_normal_(self.pos_embed, std=0.02, bound=TRUNC_BOUND)
        trunc_normal_(self.cls_token, std=0.02, bound=TRUNC_BOUND)
        self.apply(init_timesformer_layer)
        if self.attention_type != "space_only":
            zeros_(self.time_embed)
        for block in self.blocks:
            if isinstance(block, DividedBlock):
                zeros_(block.temporal_fc.weight)
                zeros_(block.temporal_fc.bias)
        if self.pretrained:
            from ..weights.pretrained import load_timesformer_pretrained
            load_timesformer_pretrained(self, self.pretrained)

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
        """``[B, 3, T, H, W]`` -> the first block's input.

        ``[B, 1 + N*T, D]`` (patch-major, time-minor) for divided/joint attention; frames as images
        ``[B*T, 1 + N, D]`` for ``space_only``.
        """
        c, t, h, w = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
        grid_h, grid_w = h // self.patch_size, w // self.patch_size
        x = self.patch_embed(x.transpose([0, 2, 1, 3, 4]).reshape([-1, c, h, w]))  # [B*T, N, D]
        # The residual stream takes the parameters' dtype: float32 under AMP O1 (the patch conv's float16
        # output is cast up, as PyTorch autocast's promotion does), float16 under O2 (parameters cast).
        x = x.astype(self.pos_embed.dtype)
        pos = self.position_embedding(grid_h, grid_w)  # [1, 1+N, D]
        cls = self.cls_token + pos[:, :1]  # [1, 1, D]
        if self.attention_type == "space_only":
            cls = paddle.tile(cls, [paddle.shape(x)[0], 1, 1])  # [B*T, 1, D] (the batch may be dynamic)
            return self.pos_drop(paddle.concat([cls, x + pos[:, 1:]], axis=1))  # [B*T, 1+N, D]
        n, d = x.shape[1], self.embed_dim
        x = self.pos_drop(x + pos[:, 1:]).reshape([-1, t, n, d]).transpose([0, 2, 1, 3])  # [B, N, T, D]
        time = resize_nearest_axis(self.time_embed, t, 1)  # [1, T, D]
        x = self.time_drop(x + time.unsqueeze(0)).reshape([-1, n * t, d])  # [B, N*T, D]
        cls = self.pos_drop(paddle.tile(cls, [paddle.shape(x)[0], 1, 1]))  # [B, 1, D]
        return paddle.concat([cls, x], axis=1)  # [B, 1+N*T, D]

    def forward_features(self, x: paddle.Tensor) -> paddle.Tensor:
        """``[B, 3, T, H, W]`` -> final-normed class token ``[B, D]``."""
        t, grid = x.shape[2], (x.shape[3] // self.patch_size, x.shape[4] // self.patch_size)
        x = self.embed(x)
        recompute = self.recompute and self.training
        last = len(self.blocks) - 1
        for i, block in enumerate(self.blocks):
            x, t = self.select_tokens(x, t, grid, i)
            # Only the class token leaves the backbone: the last block computes just what it needs.
            x = run_block(block, x, t, i == last, recompute=recompute)  # last: [B, 1, D] or [B*T, 1, D]
        if self.attention_type == "space_only":
            x = x.reshape([-1, t, 1, self.embed_dim]).mean(axis=1)  # [B, 1, D]: mean over frames
        return self.norm(x)[:, 0]  # [B, D]

    def select_tokens(self, x: paddle.Tensor, num_frames: int, grid: Tuple[int, int],
                      block_index: int) -> Tuple[paddle.Tensor, int]:
        """STTS before block ``block_index`` (identity where none is configured); returns the tokens in
        the block layout and the frames they hold: ``[B, 1+N*T, D]`` -> ``[B, 1+N'*T', D]`` (divided,
        joint), ``[B*T, 1+N, D]`` -> ``[B*T', 1+N', D]`` (space_only)."""
        if not self.token_selection.selects_before(block_index):
            return x, num_frames
        d = self.embed_dim
        if self.attention_type == "space_only":
            x = self.token_selection(x.reshape([-1, num_frames, x.shape[1], d]), block_index, 1, grid)
            return x.reshape([-1, x.shape[2], d]), x.shape[1]  # [B*T', 1+N', D]
        n = (x.shape[1] - 1) // num_frames
        patches = x[:, 1:].reshape([-1, n, num_frames, d]).transpose([0, 2, 1, 3])  # [B, T, N, D]
        patches = self.token_selection(patches, block_index, 0, grid)  # [B, T', N', D]
        t, n = patches.shape[1], patches.shape[2]
        patches = patches.transpose([0, 2, 1, 3]).reshape([-1, n * t, d])  # [B, N'*T', D] patch-major
        return paddle.concat([x[:, :1], patches], axis=1), t  # [B, 1+N'*T', D]

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        """``[B, 3, T, H, W]`` -> ``[B, D]``; any T >= 1 and any H, W of at least one patch."""
        if x.ndim != 5 or x.shape[3] < self.patch_size or x.shape[4] < self.patch_size:
            raise ValueError(f"expected [B, {self.patch_embed.proj.weight.shape[1]}, T, H, W] with H, W >= "
                             f"patch_size {self.patch_size}, got input shape {list(x.shape)}")
        return self.forward_features(x)

    def extra_repr(self) -> str:
        return f"attention_type={self.attention_type}, num_seg={self.num_seg}"
