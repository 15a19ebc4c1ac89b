"""Token Shift Transformer backbone (Zhang, Hao and Ngo, ACM MM 2021).

Faithful to the official PyTorch code (github.com/VideoNetworks/TokShift-Transformer, ``VER: 3``):

* a per-frame ViT: conv patch embedding, class token, learned position embedding, pre-LN blocks with
  LayerNorm eps 1e-6, exact GELU, q/k/v biases and attention scale ``head_dim**-0.5``, final LayerNorm;
* frames are processed as a batch of images ``[B*T, ...]`` with frame index ``b*T + t``;
* every block shifts the class token along time twice, before attention and before the MLP, and the
  shifted tensor is also the residual: ``x = shift(x); x = x + attn(norm1(x)); x = shift(x);
  x = x + mlp(norm2(x))``;
* ``shift_div: 0`` disables the shift, which is the "ViT (Video)" baseline of the model zoo.

The stem, the block skeleton, the initialisation and the token selection are the family's
(:mod:`.video_vit`); this module adds the token-shift block. Initialisation: N(0, 0.02) truncated at two
standard deviations for Linear weights, class token and position embedding, LeCun normal for the patch
conv.

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

from ...registry import BACKBONES
from ..layers import TokenShift
from .video_vit import SpaceOnlyBlock, VideoVisionTransformer


def validate_shift(embed_dim: int, shift_div: int) -> None:
    """Reject shift settings that would shift nothing or overlap the two shifted folds."""
    if shift_div < 0 or (shift_div and (embed_dim // shift_div == 0 or shift_div < 2)):
        raise ValueError(
            f"shift_div must be 0 (no shift) or in [2, embed_dim={embed_dim}], got {shift_div}")


class TokenShiftBlock(SpaceOnlyBlock):
    """Space-only block with a token shift before each residual branch: ``x = shift(x);
    x = x + attn(norm1(x)); x = shift(x)``, then the MLP. Tokens ``[B*T, 1+N, D]``.

    ``num_frames`` (the frames the block is built for) and ``shift_div`` configure :class:`TokenShift`.
    """

    def __init__(self, *, dim: int, num_heads: int, mlp_ratio: float, qkv_bias: bool, drop: float,
                 attn_drop: float, drop_path: float, epsilon: float, attn_impl: str, num_frames: int,
                 shift_div: int):
        super().__init__(dim=dim, num_heads=num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, drop=drop,
                         attn_drop=attn_drop, drop_path=drop_path, epsilon=epsilon, attn_impl=attn_impl,
                         num_frames=num_frames)
        self.shift = TokenShift(num_frames, shift_div)

    def attend(self, x: paddle.Tensor, num_frames: int, cls_only: bool, overwrite_input: bool) -> paddle.Tensor:
        """The shifted ``x`` plus the attention of its norm, shifted again: ``[B*T, 1+N, D]`` (or
        ``[B*T, 1, D]`` with ``cls_only``).

        With ``overwrite_input`` the first shift may write into ``x`` (:func:`.token_shift`'s
        ``overwrite``); the second always writes into the block's own intermediate sum.
        """
        x = self.shift(x, overwrite_input)
        return self.shift(super().attend(x, num_frames, cls_only, overwrite_input), True)


@BACKBONES.register()
class TokenShiftVisionTransformer(VideoVisionTransformer):
    """Per-frame ViT with token shift; input ``[B, 3, T, H, W]``, output class tokens ``[B, T, D]``.

    Args:
        img_size: input height and width (square); must be a multiple of ``patch_size``.
        num_seg: frames per clip ``T``; the head averages over them.
        shift_div: ``embed_dim // shift_div`` channels shift each way; 0 disables the shift (space-only
            blocks: the "ViT (Video)" baseline).
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
        validate_shift(embed_dim, shift_div)
        super().__init__(
            block_fn=TokenShiftBlock if shift_div else SpaceOnlyBlock,
            block_kwargs={"shift_div": shift_div} if shift_div else None, img_size=img_size,
            patch_size=patch_size, in_channels=in_channels, embed_dim=embed_dim, depth=depth, num_heads=num_heads,
            mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, drop_rate=drop_rate, attn_drop_rate=attn_drop_rate,
            drop_path_rate=drop_path_rate, epsilon=epsilon, num_seg=num_seg, attn_impl=attn_impl,
            trunc_bound=None, conv_init="lecun_normal", pretrained=pretrained, recompute=recompute,
            token_selection=token_selection, per_clip_window=False)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        """``[B, 3, T, H, W]`` -> per-frame class tokens ``[B, T', D]`` (T' = T without temporal selection)."""
        if x.ndim != 5 or x.shape[2] != self.num_seg:
            raise ValueError(f"expected {self.num_seg} frames (num_seg), got input shape {list(x.shape)}")
        if (x.shape[3], x.shape[4]) != (self.img_size, self.img_size):
            raise ValueError(f"expected {self.img_size}x{self.img_size} frames (img_size), got input shape "
                             f"{list(x.shape)}")
        x, t = self.forward_blocks(x)  # [B*T', 1, D]
        return self.norm(x)[:, 0].reshape([-1, t, self.embed_dim])  # [B, T', D]
