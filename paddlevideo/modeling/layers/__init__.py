"""Layers shared by the transformer models, each written once."""
from .attention import Attention
from .drop_path import DropPath
from .layer_norm import LayerNorm
from .linear import Linear
from .mlp import Mlp
from .patch_embed import PatchEmbed
from .pos_embed import nearest_indices, resample_pos_embed, resize_nearest
from .token_shift import TokenShift, token_shift

__all__ = ["Attention", "DropPath", "LayerNorm", "Linear", "Mlp", "PatchEmbed", "nearest_indices",
           "resample_pos_embed", "resize_nearest", "TokenShift", "token_shift"]
