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
* initialisation: N(0, 0.02) truncated at +-2 (timm's absolute bound, so in effect untruncated) for
  Linear weights, class token and position embedding; the patch conv keeps PyTorch's default
  ``U(+-1/sqrt(fan_in))``, which the official ``_init_weights`` leaves alone; zero ``time_embed`` and zero
  ``temporal_fc`` in every block (an image-pretrained model starts as its image model); see
  :mod:`paddlevideo.modeling.weights.timesformer` for image-ViT initialisation.

The stem, the block skeleton, the initialisation and the token selection are the family's
(:mod:`.video_vit`); this module adds the divided block and the choice of attention.

Parameter names are PaddleVideo's (``time_embed``, ``blocks.i.temporal_norm1``, ``temporal_attn``,
``temporal_fc``), so its TimeSformer checkpoints load unchanged. Not copied from PaddleVideo's port: the
crash on a clip of another length, the input size assertion (and its square-only token arithmetic),
std 1.0 Linear init and LayerNorm eps 1e-5 as class defaults.

Two deliberate differences from the official forward, neither changes a result it computes: the position
grid is resized whenever the patch grid differs (the official code looks only at the token count, so a
non-square input with as many patches as the model would get a misaligned grid), and the last block
computes only what the class token needs (exact; see :meth:`DividedSpaceTimeBlock.attend`).

``token_selection`` adds STTS (:mod:`paddlevideo.modeling.token_selection`) after the position and time
embeddings. Temporal selection keeps the best frames in their original order (their time embeddings
were already added, so a kept frame keeps its time identity). Spatial selection keeps **one window per
clip**, the same patch positions in every frame: window scores are summed over the clip's frames (the
scorer's global feature is pooled over the clip), because divided attention needs an aligned grid
(temporal attention runs over the T tokens of one patch position). The clip's class token is always
kept; the blocks after a temporal selection see the kept frame count.
"""
from typing import Dict, Optional

import paddle
import paddle.nn as nn

from ...registry import BACKBONES
from ..layers import Attention, LayerNorm
from ..weight_init import zeros_
from .video_vit import Block, JointSpaceTimeBlock, SpaceOnlyBlock, VideoVisionTransformer

TRUNC_BOUND = 2.0  # timm's trunc_normal_(std=.02) cuts at +-2 (absolute): effectively N(0, 0.02)


class DividedSpaceTimeBlock(Block):
    """Divided space-time block: temporal attention, then spatial attention, then the MLP.

    Input and output ``[B, 1 + N*T, D]`` with tokens patch-major, time-minor. ``norm1``/``attn`` are the
    spatial attention, ``temporal_norm1``/``temporal_attn``/``temporal_fc`` the temporal one.
    """

    tokens_per_frame = False

    def __init__(self, *, dim: int, num_heads: int, mlp_ratio: float, qkv_bias: bool, drop: float,
                 attn_drop: float, drop_path: float, epsilon: float, attn_impl: str, num_frames: int):
        super().__init__(dim=dim, num_heads=num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, drop=drop,
                         attn_drop=attn_drop, drop_path=drop_path, epsilon=epsilon, attn_impl=attn_impl,
                         num_frames=num_frames)
        self.temporal_norm1 = LayerNorm(dim, epsilon=epsilon)
        self.temporal_attn = Attention(dim, num_heads, qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=drop,
                                       attn_impl=attn_impl)
        self.temporal_fc = nn.Linear(dim, dim)

    def init_weights(self) -> None:
        """Zero ``temporal_fc``, as the official code: an image-pretrained block starts as its image block."""
        zeros_(self.temporal_fc.weight)
        zeros_(self.temporal_fc.bias)

    def attend(self, x: paddle.Tensor, num_frames: int, cls_only: bool, overwrite_input: bool) -> paddle.Tensor:
        """``[B, 1+N*T, D]`` -> ``[B, 1+N*T, D]``, or ``[B, 1, D]`` with ``cls_only``.

        With ``cls_only`` the spatial attention computes only the class queries (keys and values still
        come from every token), and :meth:`forward` runs the MLP on the class token alone: exactly the
        class token of the full block, at about half the cost of the last block.
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
            return cls
        res_tokens = res[:, :, 1:].transpose([0, 2, 1, 3]).reshape([-1, n * t, d])  # [B, N*T, D]
        return paddle.concat([cls, tokens + res_tokens], axis=1)  # [B, 1+N*T, D]


ATTENTION_BLOCKS = {"divided_space_time": DividedSpaceTimeBlock, "space_only": SpaceOnlyBlock,
                    "joint_space_time": JointSpaceTimeBlock}
ATTENTION_TYPES = tuple(ATTENTION_BLOCKS)


@BACKBONES.register()
class VisionTransformer(VideoVisionTransformer):
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
        if attention_type not in ATTENTION_BLOCKS:
            raise ValueError(f"attention_type must be one of {list(ATTENTION_TYPES)}, got {attention_type!r}")
        super().__init__(
            block_fn=ATTENTION_BLOCKS[attention_type], img_size=img_size, patch_size=patch_size,
            in_channels=in_channels, embed_dim=embed_dim, depth=depth, num_heads=num_heads, mlp_ratio=mlp_ratio,
            qkv_bias=qkv_bias, drop_rate=drop_rate, attn_drop_rate=attn_drop_rate, drop_path_rate=drop_path_rate,
            epsilon=epsilon, num_seg=num_seg, attn_impl=attn_impl, trunc_bound=TRUNC_BOUND, conv_init="torch_default",
            pretrained=pretrained, recompute=recompute, token_selection=token_selection, per_clip_window=True)
        self.attention_type = attention_type

    def load_pretrained(self, path: str) -> None:
        """Initialise from an image ViT or a TimeSformer checkpoint (the temporal parts adapted as the
        official ``load_pretrained`` does)."""
        from ..weights.pretrained import load_timesformer_pretrained
        load_timesformer_pretrained(self, path)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        """``[B, 3, T, H, W]`` -> ``[B, D]``; any T >= 1 and any H, W of at least one patch."""
        if x.ndim != 5 or x.shape[3] < self.patch_size or x.shape[4] < self.patch_size:
            raise ValueError(f"expected [B, {self.patch_embed.proj.weight.shape[1]}, T, H, W] with H, W >= "
                             f"patch_size {self.patch_size}, got input shape {list(x.shape)}")
        x, t = self.forward_blocks(x)  # [B, 1, D], or [B*T', 1, D] for space_only
        if self.tokens_per_frame:
            x = x.reshape([-1, t, 1, self.embed_dim]).mean(axis=1)  # [B, 1, D]: mean over frames
        return self.norm(x)[:, 0]  # [B, D]

    def extra_repr(self) -> str:
        return f"attention_type={self.attention_type}, num_seg={self.num_seg}"
