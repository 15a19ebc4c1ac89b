"""TimeSformer weights: official ``.pyth`` checkpoints and image-ViT initialisation of the temporal parts.

**Official checkpoints.** facebookresearch/TimeSformer saves
``torch.save({'epoch', 'model_state', 'optimizer_state', 'cfg'})`` (``timesformer/utils/checkpoint.py``;
the model zoo's ``TimeSformer_divST_8x32_224_K400.pyth`` is such a file). ``model_state`` is the state of
the ``vit_base_patch16_224`` wrapper, so every name is ``model.`` + timm's ViT name (``cls_token``,
``pos_embed``, ``patch_embed.proj``, ``blocks.N.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}``,
``norm``, ``head``) plus ``time_embed`` and ``blocks.N.{temporal_norm1, temporal_attn.qkv,
temporal_attn.proj, temporal_fc}``. timm's image ViT ``.pth`` (what the official code fine-tunes from)
has the same names without the prefix. They map one to one onto PaddleVideo's (``backbone.`` prefix,
``head`` -> ``head.fc``); PyTorch Linear weights ``[out, in]`` are transposed to Paddle's ``[in, out]``.

**Image ViT -> TimeSformer** (``MODEL.backbone.pretrained``), as the official ``load_pretrained``
(``timesformer/models/helpers.py``) does:

* ``temporal_attn`` and ``temporal_norm1`` of each block start as copies of that block's ``attn`` and
  ``norm1``;
* ``temporal_fc`` and ``time_embed`` keep the model's zero initialisation, so the network starts as the
  image model applied to each frame (its class token averaged over frames);
* a time embedding learned for another number of frames is resized nearest-neighbour
  (``F.interpolate(mode='nearest')``);
* parts the model does not have (temporal layers for ``space_only``/``joint_space_time``, the time
  embedding for ``space_only``) are dropped with a note.

The position embedding is resampled to ``img_size`` by the shared bilinear helper when loading (the
official loader interpolates the flattened token sequence nearest-neighbour in 1-D, which mixes grid rows;
the two agree when the file's grid is the model's, as for every 224 px recipe).
"""
import re
from typing import Any, Dict, List, Optional

import numpy as np

from ...errors import ConfigError
from ...utils.logger import get_logger
from ..layers.pos_embed import resize_nearest
from .numbering import count_numbered

logger = get_logger()

WRAPPER_KEYS = ("model_state", "state_dict", "model")  # official TimeSformer, timm training, others
WRAPPER_PREFIXES = ("module.", "model.")  # DataParallel; TimeSformer's vit_base_patch16_224 wrapper
STEM_KEYS = ("cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias", "norm.weight",
             "norm.bias")
BLOCK_KEYS = ("norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.proj.weight", "attn.proj.bias",
              "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias")
TEMPORAL_BLOCK_KEYS = ("temporal_norm1.weight", "temporal_norm1.bias", "temporal_attn.qkv.weight",
                       "temporal_attn.qkv.bias", "temporal_attn.proj.weight", "temporal_attn.proj.bias",
                       "temporal_fc.weight", "temporal_fc.bias")
QKV_BIASES = ("attn.qkv.bias", "temporal_attn.qkv.bias")  # absent when built with qkv_bias=False
HEAD_RENAMES = {"head.weight": "head.fc.weight", "head.bias": "head.fc.bias"}
IGNORED_PREFIXES = ("pre_logits.",)  # timm's ImageNet-21k tanh projection; the video head skips it
SPATIAL_SOURCE = {"temporal_norm1": "norm1", "temporal_attn": "attn"}
TEMPORAL_KEY = re.compile(r"^blocks\.(\d+)\.(temporal_norm1|temporal_attn)\.(.+)$")


def find_timm_state(obj: Any) -> Optional[Dict[str, Any]]:
    """The parameter dict of a timm-layout checkpoint with wrapper prefixes removed, or None.

    Accepts the official ``{'model_state': ...}`` training checkpoint, ``{'state_dict'|'model': ...}``
    and a bare state dict; the result is a timm-layout state when it has ``patch_embed.proj.weight``.
    """
    if not isinstance(obj, dict):
        return None
    for key in WRAPPER_KEYS:
        if isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    state = dict(obj)
    for prefix in WRAPPER_PREFIXES:
        if state and all(isinstance(k, str) and k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state if "patch_embed.proj.weight" in state else None


def is_timm_vit(obj: Any) -> bool:
    """Whether a loaded ``.pth`` object is an official TimeSformer or timm ViT checkpoint."""
    return find_timm_state(obj) is not None


def check_timm_keys(state: Dict[str, Any], depth: int) -> None:
    """Reject partial files, blocks with only some temporal parts, and unknown variants."""
    blocks = [f"blocks.{i}." for i in range(depth)]
    temporal = [b for b in blocks if any(b + k in state for k in TEMPORAL_BLOCK_KEYS)]
    required = set(STEM_KEYS) | {b + k for b in blocks for k in BLOCK_KEYS}
    if temporal:  # a divided space-time checkpoint has them in every block
        required |= {b + k for b in blocks for k in TEMPORAL_BLOCK_KEYS if k not in QKV_BIASES}
    optional = {"time_embed", *HEAD_RENAMES} | {b + k for b in blocks for k in QKV_BIASES}
    missing = sorted(required - set(state))
    unknown = sorted(k for k in set(state) - required - optional if not k.startswith(IGNORED_PREFIXES))
    if missing or unknown or depth == 0:
        raise ConfigError(f"TimeSformer/timm ViT checkpoint with {depth} blocks is incomplete or of an "
                          f"unsupported variant: missing {missing[:8]}, unknown {unknown[:8]}")
    if ("head.weight" in state) != ("head.bias" in state):
        raise ConfigError("TimeSformer/timm ViT checkpoint has only one of head.weight and head.bias")


def to_paddle_layout(key: str, value: np.ndarray) -> np.ndarray:
    """Transpose Linear weights (the only 2-D tensors); a 2-D patch embedding is a flattened conv.

    The official ``_conv_filter`` reshapes a ``[D, 3*p*p]`` patch projection (manual patchify + linear)
    to the conv kernel ``[D, 3, p, p]``; conv kernels are 4-D, norms 1-D, embeddings 3-D.
    """
    if key == "patch_embed.proj.weight" and value.ndim == 2:
        patch = int(round(np.sqrt(value.shape[1] / 3)))
        return np.ascontiguousarray(value.reshape(value.shape[0], 3, patch, patch))
    return np.ascontiguousarray(value.T if value.ndim == 2 else value)


def timm_vit_to_paddle(obj: Any) -> Dict[str, np.ndarray]:
    """Official TimeSformer ``.pyth`` / timm ViT ``.pth`` object -> ``backbone.*`` (+ ``head.fc.*``).

    Args:
        obj: what :func:`~.torch_pth.read_pth` returned for the file.

    Returns:
        Paddle recognizer state (Linear weights ``[in, out]``); embeddings keep the file's sizes.

    Raises:
        ConfigError: not this layout, non-tensor entries, missing or unknown keys.
    """
    state = find_timm_state(obj)
    if state is None:
        raise ConfigError("not a TimeSformer/timm ViT checkpoint (no patch_embed.proj.weight)")
    bad = sorted(k for k, v in state.items() if not isinstance(v, np.ndarray))
    if bad:
        raise ConfigError(f"checkpoint entries that are not tensors: {bad[:8]}")
    depth = count_numbered(state, r"blocks\.(\d+)\.", "TimeSformer/timm ViT checkpoint")
    check_timm_keys(state, depth)
    dropped = sorted(k for k in state if k.startswith(IGNORED_PREFIXES))
    if dropped:
        logger.info("TimeSformer/timm ViT checkpoint: ignored %s (the video head sits on the class token)",
                    dropped)
    return {HEAD_RENAMES.get(k, f"backbone.{k}"): to_paddle_layout(k, v) for k, v in state.items()
            if not k.startswith(IGNORED_PREFIXES)}


def describe_temporal(state: Dict[str, np.ndarray]) -> Optional[str]:
    """What a converted state holds beyond an image ViT (None for image ViT / TokShift weights)."""
    frames = state["backbone.time_embed"].shape[1] if "backbone.time_embed" in state else None
    divided = "backbone.blocks.0.temporal_fc.weight" in state
    if frames is None and not divided:
        return None
    kind = "divided space-time attention" if divided else "joint space-time attention (no temporal layers)"
    return f"{kind}, time_embed for {frames} frames" if frames else kind


def initialise_temporal_from_spatial(state: Dict[str, np.ndarray], model_keys) -> List[str]:
    """Fill ``temporal_attn.*``/``temporal_norm1.*`` the model has and ``state`` lacks with copies of the
    block's ``attn.*``/``norm1.*`` (in place); returns the keys filled."""
    filled = []
    for key in model_keys:
        match = TEMPORAL_KEY.match(key)
        if key in state or not match:
            continue
        source = f"blocks.{match.group(1)}.{SPATIAL_SOURCE[match.group(2)]}.{match.group(3)}"
        if source in state:
            state[key] = np.array(state[source], copy=True)
            filled.append(key)
    return filled


def adapt_to_timesformer(state: Dict[str, np.ndarray], model_state: Dict[str, np.ndarray],
                         source: str) -> Dict[str, np.ndarray]:
    """Backbone weights (names without ``backbone.``) -> what the TimeSformer backbone with
    ``model_state`` loads strictly, following the official ``load_pretrained`` (module docstring).

    Args:
        state: weights from the file.
        model_state: the backbone's own (initialised) state, numpy; supplies ``time_embed`` and
            ``temporal_fc`` when the file has none.
        source: file name, for the log.

    Returns:
        a new dict; anything else that does not fit is left for the strict load to report.
    """
    state = dict(state)
    copied = initialise_temporal_from_spatial(state, model_state)
    kept = [k for k in model_state if k not in state and (k == "time_embed" or ".temporal_fc." in k)]
    state.update({k: model_state[k] for k in kept})
    frames = model_state["time_embed"].shape[1] if "time_embed" in model_state else None
    if frames and state["time_embed"].shape[1] != frames:
        logger.info("%s: time_embed resized (nearest) from %d to %d frames", source,
                    state["time_embed"].shape[1], frames)
        state["time_embed"] = resize_nearest(state["time_embed"], frames, axis=1)
    dropped = sorted(k for k in state if k not in model_state and (k == "time_embed" or ".temporal_" in k))
    for key in dropped:
        del state[key]
    if copied:
        logger.info("%s: temporal attention and norm of %d blocks initialised from the spatial ones",
                    source, len({k.split(".")[1] for k in copied}))
    if kept:
        logger.info("%s: not in the file, kept at their initial value (zero): %s", source,
                    sorted({re.sub(r"^blocks\.\d+\.", "blocks.*.", k) for k in kept}))
    if dropped:
        logger.info("%s: dropped %d temporal entries this attention type does not use: %s%s", source,
                    len(dropped), dropped[:4], " ..." if len(dropped) > 4 else "")
    return state
