"""Google ViT ``.npz`` checkpoints (``ViT-B_16.npz``, ``ViT-L_16.npz``) -> Paddle recognizer names.

These are what the official TokShift fine-tunes from (``VideoNet(vit_pretrain=...)`` calls
``VisionTransformer.load_from(np.load(path))``). The layout is Flax's:

* ``embedding/kernel`` is a conv kernel in HWIO -> OIHW for ``patch_embed.proj.weight``;
* attention q/k/v kernels are ``[D, heads, head_dim]`` and the output kernel ``[heads, head_dim, D]``;
  flattened they are already ``[in, out]``, Paddle's Linear layout, and q|k|v concatenate along
  ``out`` into ``attn.qkv`` (our Attention splits its output as ``[3, heads, head_dim]``);
* ``LayerNorm_0`` is the pre-attention norm and ``LayerNorm_2`` the pre-MLP norm (Flax numbers every
  submodule of the block, including the attention and MLP, which take 1 and 3);
* ``pre_logits`` (a tanh projection in some ImageNet-21k files) is ignored, as the official loader
  does: the video head sits directly on the class token.
"""
from typing import Dict, Optional

import numpy as np

from ...errors import ConfigError
from ...utils.logger import get_logger
from .numbering import count_numbered

logger = get_logger()

BLOCK = "Transformer/encoderblock_{}/"
ATTN = "MultiHeadDotProductAttention_1/"

# Paddle name (inside ``backbone.blocks.N.``) -> Google name (inside ``Transformer/encoderblock_N/``)
# for the entries that only need flattening; q/k/v are merged separately.
BLOCK_RENAMES = {
    "norm1.weight": "LayerNorm_0/scale",
    "norm1.bias": "LayerNorm_0/bias",
    "attn.proj.weight": ATTN + "out/kernel",
    "attn.proj.bias": ATTN + "out/bias",
    "norm2.weight": "LayerNorm_2/scale",
    "norm2.bias": "LayerNorm_2/bias",
    "mlp.fc1.weight": "MlpBlock_3/Dense_0/kernel",
    "mlp.fc1.bias": "MlpBlock_3/Dense_0/bias",
    "mlp.fc2.weight": "MlpBlock_3/Dense_1/kernel",
    "mlp.fc2.bias": "MlpBlock_3/Dense_1/bias",
}
STEM_RENAMES = {
    "backbone.patch_embed.proj.bias": "embedding/bias",
    "backbone.pos_embed": "Transformer/posembed_input/pos_embedding",
    "backbone.norm.weight": "Transformer/encoder_norm/scale",
    "backbone.norm.bias": "Transformer/encoder_norm/bias",
}
HEAD_RENAMES = {"head.fc.weight": "head/kernel", "head.fc.bias": "head/bias"}
IGNORED_PREFIXES = ("pre_logits/",)


def is_google_vit(state: Dict) -> bool:
    return "embedding/kernel" in state and any(k.startswith("Transformer/") for k in state)


def read_npz(path: str) -> Dict[str, np.ndarray]:
    """All arrays of an ``.npz`` (no pickled objects: a weights file has no reason to contain any)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read {path} as .npz: {err}") from err


def infer_num_heads(state: Dict) -> Optional[int]:
    """Heads, read from the query kernel ``[D, heads, head_dim]`` (other formats do not store it)."""
    kernel = state.get(BLOCK.format(0) + ATTN + "query/kernel")
    return int(kernel.shape[1]) if kernel is not None and kernel.ndim == 3 else None


def convert_block(state: Dict, i: int) -> Dict[str, np.ndarray]:
    """One encoder block: flatten kernels to ``[in, out]``, merge q|k|v into ``attn.qkv``."""
    root, out = BLOCK.format(i), {}
    dim = state[root + "LayerNorm_0/scale"].shape[0]
    for name, src in BLOCK_RENAMES.items():
        value = state[root + src]
        if src == ATTN + "out/kernel":
            value = value.reshape(-1, dim)  # [heads, head_dim, D] -> [D, D]
        out[f"backbone.blocks.{i}.{name}"] = value
    qkv = [state[f"{root}{ATTN}{part}/kernel"].reshape(dim, -1) for part in ("query", "key", "value")]
    out[f"backbone.blocks.{i}.attn.qkv.weight"] = np.concatenate(qkv, axis=1)  # [D, 3D]
    bias = [state[f"{root}{ATTN}{part}/bias"].reshape(-1) for part in ("query", "key", "value")]
    out[f"backbone.blocks.{i}.attn.qkv.bias"] = np.concatenate(bias)  # [3D]
    return out


def required_keys(depth: int) -> set:
    """Google names a complete ViT file must have (the head is optional)."""
    keys = set(STEM_RENAMES.values()) | {"embedding/kernel", "cls"}
    for i in range(depth):
        keys |= {BLOCK.format(i) + src for src in BLOCK_RENAMES.values()}
        keys |= {f"{BLOCK.format(i)}{ATTN}{part}/{kind}" for part in ("query", "key", "value")
                 for kind in ("kernel", "bias")}
    return keys


def check_keys(state: Dict, depth: int) -> None:
    """Reject partial files and unknown variants (e.g. the R50 hybrid's ``conv_root``)."""
    required = required_keys(depth)
    known = required | set(HEAD_RENAMES.values())
    missing = sorted(required - set(state))
    unknown = sorted(k for k in set(state) - known if not k.startswith(IGNORED_PREFIXES))
    if missing or unknown or depth == 0:
        raise ConfigError(f"Google ViT .npz with {depth} blocks is incomplete or of an unsupported "
                          f"variant: missing {missing[:8]}, unknown {unknown[:8]}")
    if ("head/kernel" in state) != ("head/bias" in state):
        raise ConfigError("Google ViT .npz has only one of head/kernel and head/bias")


def google_vit_to_paddle(state: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """Google ViT arrays -> ``backbone.*`` (+ ``head.fc.*`` when the file has a head).

    Args:
        state: ``name -> array`` as read from the ``.npz``.

    Returns:
        Paddle recognizer state; position embeddings keep the file's grid.
    """
    depth = count_numbered(state, r"Transformer/encoderblock_(\d+)/", "Google ViT .npz")
    check_keys(state, depth)
    dropped = sorted(k for k in state if k.startswith(IGNORED_PREFIXES))
    if dropped:
        logger.info("Google ViT .npz: ignored %s (the official TokShift does not use pre_logits)", dropped)
    out = {name: state[src] for name, src in STEM_RENAMES.items()}
    out["backbone.patch_embed.proj.weight"] = state["embedding/kernel"].transpose(3, 2, 0, 1)  # HWIO->OIHW
    out["backbone.cls_token"] = state["cls"].reshape(1, 1, -1)
    for i in range(depth):
        out.update(convert_block(state, i))
    out.update({name: state[src] for name, src in HEAD_RENAMES.items() if src in state})
    return out
