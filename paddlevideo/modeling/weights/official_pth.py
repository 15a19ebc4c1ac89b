"""Official TokShift PyTorch checkpoints (model zoo ``.pth``) -> Paddle recognizer names.

The official ``VideoNet`` wraps ``vit_models.modeling_tokshift.VisionTransformer`` (jeonsworld's ViT
port) as ``base_model`` and training wraps that in DistributedDataParallel, so parameters are saved as
``module.base_model.transformer.encoder.layer.N.attn.query.weight`` etc., inside
``{'epoch', 'state_dict', 'best_acc1', 'optimizer', 'scheduler'}``. The ViT baseline
(``vit_models.modeling``) uses the same names. ``base_model.head`` is the per-frame classifier whose
logits the ``avg`` consensus averages over frames, i.e. our ``head.fc``.

PyTorch Linear weights are ``[out, in]`` and Paddle's ``[in, out]``, so every Linear weight is
transposed; separate q/k/v projections are concatenated into ``attn.qkv``.
"""
from typing import Any, Dict

import numpy as np

from ...errors import ConfigError
from .numbering import count_numbered

WRAPPER_KEYS = ("state_dict", "model")
WRAPPER_PREFIXES = ("module.", "base_model.")

# Official name (after unwrapping) -> Paddle name; ``{}`` is the block index.
STEM_RENAMES = {
    "transformer.embeddings.patch_embeddings.weight": "backbone.patch_embed.proj.weight",
    "transformer.embeddings.patch_embeddings.bias": "backbone.patch_embed.proj.bias",
    "transformer.embeddings.cls_token": "backbone.cls_token",
    "transformer.embeddings.position_embeddings": "backbone.pos_embed",
    "transformer.encoder.encoder_norm.weight": "backbone.norm.weight",
    "transformer.encoder.encoder_norm.bias": "backbone.norm.bias",
    "head.weight": "head.fc.weight",
    "head.bias": "head.fc.bias",
}
BLOCK_RENAMES = {
    "attention_norm": "norm1",
    "ffn_norm": "norm2",
    "ffn.fc1": "mlp.fc1",
    "ffn.fc2": "mlp.fc2",
    "attn.out": "attn.proj",
}
QKV = ("attn.query", "attn.key", "attn.value")
LAYER = "transformer.encoder.layer.{}."


def is_official_tokshift(state: Dict) -> bool:
    return "transformer.embeddings.patch_embeddings.weight" in state


def find_state_dict(obj: Any) -> Dict:
    """The parameter dict inside a training checkpoint (``state_dict`` or ``model`` entry, or itself)."""
    if isinstance(obj, dict):
        for key in WRAPPER_KEYS:
            if isinstance(obj.get(key), dict):
                return obj[key]
    if not isinstance(obj, dict):
        raise ConfigError(f"checkpoint holds a {type(obj).__name__}, not a dict of tensors")
    return obj


def strip_prefixes(state: Dict) -> Dict:
    """Drop the DataParallel ``module.`` and VideoNet ``base_model.`` prefixes where present."""
    for prefix in WRAPPER_PREFIXES:
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


def unwrap_checkpoint(obj: Any) -> Dict[str, np.ndarray]:
    """Checkpoint object -> flat ``name -> array`` with wrapper prefixes removed."""
    state = strip_prefixes(dict(find_state_dict(obj)))
    bad = sorted(k for k, v in state.items() if not isinstance(v, np.ndarray))
    if bad:
        raise ConfigError(f"checkpoint entries that are not tensors: {bad[:8]}")
    return state


def required_keys(depth: int) -> set:
    keys = set(STEM_RENAMES) - {"head.weight", "head.bias"}
    for i in range(depth):
        for name in tuple(BLOCK_RENAMES) + QKV:
            keys |= {f"{LAYER.format(i)}{name}.weight", f"{LAYER.format(i)}{name}.bias"}
    return keys


def check_keys(state: Dict, depth: int) -> None:
    """Reject partial checkpoints and ones of another architecture (e.g. the hybrid's ResNet stem)."""
    required = required_keys(depth)
    missing = sorted(required - set(state))
    unknown = sorted(set(state) - required - {"head.weight", "head.bias"})
    if missing or unknown or depth == 0:
        raise ConfigError(f"official TokShift checkpoint with {depth} layers is incomplete or of an "
                          f"unsupported variant: missing {missing[:8]}, unknown {unknown[:8]}")


def convert_layer(state: Dict, i: int) -> Dict[str, np.ndarray]:
    """One encoder layer: rename and stack q|k|v into a torch-layout ``qkv`` (``[3D, D]``)."""
    src, dst = LAYER.format(i), f"backbone.blocks.{i}."
    out = {}
    for old, new in BLOCK_RENAMES.items():
        for kind in ("weight", "bias"):
            out[f"{dst}{new}.{kind}"] = state[f"{src}{old}.{kind}"]
    out[f"{dst}attn.qkv.weight"] = np.concatenate([state[f"{src}{p}.weight"] for p in QKV], axis=0)
    out[f"{dst}attn.qkv.bias"] = np.concatenate([state[f"{src}{p}.bias"] for p in QKV])
    return out


def to_paddle_layout(value: np.ndarray) -> np.ndarray:
    """Transpose Linear weights, the only 2-D tensors here (conv 4-D, norms 1-D, embeddings 3-D)."""
    return np.ascontiguousarray(value.T if value.ndim == 2 else value)


def official_tokshift_to_paddle(state: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """Unwrapped official state -> ``backbone.*`` + ``head.fc.*`` (Linear weights as ``[in, out]``).

    Args:
        state: output of :func:`unwrap_checkpoint`.

    Returns:
        Paddle recognizer state; position embeddings keep the checkpoint's grid.
    """
    depth = count_numbered(state, r"transformer\.encoder\.layer\.(\d+)\.", "official TokShift checkpoint")
    check_keys(state, depth)
    out = {new: state[old] for old, new in STEM_RENAMES.items() if old in state}
    for i in range(depth):
        out.update(convert_layer(state, i))
    return {k: to_paddle_layout(v) for k, v in out.items()}
