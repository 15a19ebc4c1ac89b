"""The stem every ViT-style backbone here has, under PaddleVideo's / PaddleClas' parameter names."""
import paddle.nn as nn

from .patch_embed import PatchEmbed


def add_vit_stem(backbone: nn.Layer, *, img_size: int, patch_size: int, in_channels: int, embed_dim: int,
                 drop_rate: float) -> None:
    """Give ``backbone`` its ``patch_embed`` (conv patch embedding), ``cls_token`` ``[1, 1, D]``,
    ``pos_embed`` ``[1, 1 + num_patches, D]`` (class token first) and ``pos_drop``.

    The values are set by the backbone's ``init_weights``; the names are what checkpoints are keyed by.
    """
    backbone.patch_embed = PatchEmbed(img_size=img_size, patch_size=patch_size, in_channels=in_channels,
                                      embed_dim=embed_dim)
    backbone.cls_token = backbone.create_parameter([1, 1, embed_dim])
    backbone.pos_embed = backbone.create_parameter([1, backbone.patch_embed.num_patches + 1, embed_dim])
    backbone.pos_drop = nn.Dropout(drop_rate)
