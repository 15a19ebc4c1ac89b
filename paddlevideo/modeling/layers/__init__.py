"""Layers shared by the transformer models, each written once."""
from .attention import Attention
from .drop_path import DropPath
from .mlp import Mlp
from .patch_embed import PatchEmbed
from .pos_embed import resample_pos_embed

__all__ = ["Attention", "DropPath", "Mlp", "PatchEmbed", "resample_pos_embed"]
