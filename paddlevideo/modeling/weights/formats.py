"""Detect a weights file's format and convert it to Paddle recognizer names, checking it is complete.

Every supported file becomes one flat ``name -> float32 array`` dict in the names of
``RecognizerTransformer(TokenShiftVisionTransformer, TokenShiftHead)``: ``backbone.*`` plus, when the
file has a classifier, ``head.fc.weight`` ``[D, K]`` and ``head.fc.bias`` ``[K]``. Position embeddings
keep the file's grid; :func:`~paddlevideo.modeling.weights.loading.load_weights` resamples them to the model.

Formats, told apart by content rather than extension:

* ``google-npz``: Google ViT ``.npz`` (a zip of ``.npy`` files), see :mod:`.google_npz`;
* ``official-pth``: official TokShift PyTorch checkpoints (a zip holding ``data.pkl``), see
  :mod:`.official_pth`;
* ``timm-pth``: official TimeSformer ``.pyth`` checkpoints and timm ViT ``.pth`` files (the same zip
  container, timm parameter names), see :mod:`.timesformer`;
* ``paddle``: ``.pdparams`` of a PaddleVideo TokShift (``backbone.*``, ``head.fc.*``, loaded as is) or
  of a PaddleClas image ViT (backbone names unprefixed, classifier ``head.*``).
"""
import os
import zipfile
from typing import Dict, NamedTuple, Optional

import numpy as np

from ...errors import ConfigError
from ...utils.checkpoint import load_file
from ...utils.logger import get_logger
from .google_npz import google_vit_to_paddle, infer_num_heads, is_google_vit, read_npz
from .numbering import count_numbered
from .official_pth import is_official_tokshift, official_tokshift_to_paddle, unwrap_checkpoint
from .timesformer import TEMPORAL_BLOCK_KEYS, describe_temporal, is_timm_vit, timm_vit_to_paddle
from .torch_pth import read_pth

logger = get_logger()

STEM_KEYS = ("patch_embed.proj.weight", "patch_embed.proj.bias", "cls_token", "pos_embed",
             "norm.weight", "norm.bias")
BLOCK_KEYS = ("norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.proj.weight", "attn.proj.bias",
              "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight",
              "mlp.fc2.bias")
OPTIONAL_BLOCK_KEYS = ("attn.qkv.bias",) + TEMPORAL_BLOCK_KEYS  # qkv bias: absent with qkv_bias=False
OPTIONAL_STEM_KEYS = ("time_embed",)  # TimeSformer (divided and joint space-time attention)
HEAD_KEYS = ("head.fc.weight", "head.fc.bias")


class Weights(NamedTuple):
    """A converted weights file.

    Attributes:
        format: ``google-npz``, ``official-pth`` or ``paddle``.
        state: Paddle recognizer names -> float32 arrays.
        num_heads: attention heads when the file records them (only the Google layout does).
    """
    format: str
    state: Dict[str, np.ndarray]
    num_heads: Optional[int] = None


def first_keys(state: Dict, n: int = 8) -> str:
    keys = sorted(state)
    return f"{keys[:n]}{' ...' if len(keys) > n else ''} ({len(keys)} entries)"


def sniff_container(path: str) -> str:
    """``npz``, ``pth`` or ``pickle`` from the file's structure (extensions are often wrong)."""
    if not os.path.isfile(path):
        raise ConfigError(f"weights file not found: {path}")
    if not zipfile.is_zipfile(path):
        return "pickle"
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    if any(n.endswith("/data.pkl") for n in names):
        return "pth"
    if names and all(n.endswith(".npy") for n in names):
        return "npz"
    raise ConfigError(f"{path} is a zip archive but neither a .npz nor a PyTorch checkpoint: "
                      f"entries {sorted(names)[:8]}")


def paddle_to_recognizer(state: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """PaddleVideo recognizer states pass through; PaddleClas image ViTs get ``backbone.``/``head.fc.``."""
    if any(k.startswith("backbone.") for k in state):
        return dict(state)
    renamed = {}
    for key, value in state.items():
        renamed[f"head.fc.{key[len('head.'):]}" if key.startswith("head.") else f"backbone.{key}"] = value
    return renamed


def read_paddle(path: str) -> Dict[str, np.ndarray]:
    state = load_file(path, "weights")
    if not isinstance(state, dict):
        raise ConfigError(f"{path}: expected a dict of parameters, got {type(state).__name__}")
    return {k: v.numpy() if hasattr(v, "numpy") else np.asarray(v) for k, v in state.items()}


def convert_file(path: str) -> Weights:
    """Read ``path`` in whichever supported format it is and convert it (no completeness check)."""
    container = sniff_container(path)
    if container == "npz":
        raw = read_npz(path)
        if not is_google_vit(raw):
            raise ConfigError(f"{path}: an .npz but not a Google ViT checkpoint; keys {first_keys(raw)}")
        return Weights("google-npz", google_vit_to_paddle(raw), infer_num_heads(raw))
    if container == "pth":
        obj = read_pth(path)
        if is_timm_vit(obj):
            return Weights("timm-pth", timm_vit_to_paddle(obj))
        raw = unwrap_checkpoint(obj)
        if not is_official_tokshift(raw):
            raise ConfigError(f"{path}: a PyTorch checkpoint but not an official TokShift/ViT one "
                              f"(no transformer.embeddings.patch_embeddings.weight); keys {first_keys(raw)}")
        return Weights("official-pth", official_tokshift_to_paddle(raw))
    raw = read_paddle(path)
    if not any(k.endswith("patch_embed.proj.weight") for k in raw):
        raise ConfigError(f"{path}: not a TokShift/ViT .pdparams (no patch_embed.proj.weight); "
                          f"keys {first_keys(raw)}")
    return Weights("paddle", paddle_to_recognizer(raw))


def count_blocks(state: Dict) -> int:
    return count_numbered(state, r"backbone\.blocks\.(\d+)\.", "converted weights")


def check_recognizer_state(state: Dict, source: str) -> None:
    """Raise a ConfigError naming what is missing or unknown in a converted state.

    A complete state has the stem, ``depth >= 1`` numbered blocks, and either both head entries or
    neither.
    """
    depth = count_blocks(state)
    required = {f"backbone.{k}" for k in STEM_KEYS}
    required |= {f"backbone.blocks.{i}.{k}" for i in range(depth) for k in BLOCK_KEYS}
    optional = {f"backbone.blocks.{i}.{k}" for i in range(depth) for k in OPTIONAL_BLOCK_KEYS}
    optional |= {f"backbone.{k}" for k in OPTIONAL_STEM_KEYS}
    missing = sorted(required - set(state))
    unknown = sorted(set(state) - required - optional - set(HEAD_KEYS))
    head = [k for k in HEAD_KEYS if k in state]
    if missing or unknown or depth == 0 or len(head) == 1:
        raise ConfigError(f"{source}: incomplete or unknown weights after conversion "
                          f"({depth} blocks, head {head}): missing {missing[:8]}, unknown {unknown[:8]}")


def as_float32(value: np.ndarray) -> np.ndarray:
    """float32 (fp16/bf16/fp64 checkpoints too), C-contiguous (transposed kernels are views)."""
    return np.ascontiguousarray(value, dtype=np.float32 if np.issubdtype(value.dtype, np.floating) else None)


def read_weights(path: str) -> Weights:
    """Detect, convert and check the weights file at ``path``.

    Returns:
        :class:`Weights` in Paddle recognizer names, float32.

    Raises:
        ConfigError: missing, unknown, partial or unsafe file, with what was found.
    """
    weights = convert_file(path)
    check_recognizer_state(weights.state, path)
    return weights._replace(state={k: as_float32(v) for k, v in weights.state.items()})


def backbone_state(state: Dict[str, np.ndarray], source: str) -> Dict[str, np.ndarray]:
    """The ``backbone.*`` entries without the prefix; a classifier is dropped with a logged note."""
    dropped = sorted(k for k in state if not k.startswith("backbone."))
    if dropped:
        shape = list(state["head.fc.weight"].shape) if "head.fc.weight" in state else "?"
        logger.info("%s: dropped the classifier %s (weight %s); the video head starts fresh",
                    source, dropped, shape)
    return {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}


def summarize(weights: Weights) -> Dict[str, object]:
    """Architecture facts readable from the weights (``num_seg``/``shift_div`` are never stored)."""
    state = weights.state
    patch = state["backbone.patch_embed.proj.weight"]  # [D, 3, p, p]
    tokens = state["backbone.pos_embed"].shape[1] - 1
    grid = int(round(np.sqrt(tokens)))
    head = state.get("head.fc.weight")
    temporal = {"temporal": describe_temporal(state)} if describe_temporal(state) else {}
    return {
        "format": weights.format,
        "embed_dim": int(patch.shape[0]),
        "depth": count_blocks(state),
        "num_heads": weights.num_heads if weights.num_heads else "not stored in this format",
        "mlp_hidden": int(state["backbone.blocks.0.mlp.fc1.weight"].shape[1]),
        "patch_size": int(patch.shape[2]),
        "pos_grid": f"{grid}x{grid} (img_size {grid * int(patch.shape[2])})" if grid * grid == tokens
        else f"{tokens} tokens (not square)",
        "num_classes": int(head.shape[1]) if head is not None else None,
        **temporal,
    }
