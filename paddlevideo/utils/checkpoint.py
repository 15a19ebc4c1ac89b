"""Saving and loading of weights: atomic writes, checked loads with a key report."""
import logging
import os
from typing import Dict, List, Tuple

import numpy as np
import paddle
import paddle.nn as nn

from ..modeling.layers.pos_embed import resample_pos_embed
from ..registry import ConfigError
from .atomic import atomic_path

logger = logging.getLogger("paddlevideo")


def save_atomic(obj, path: str) -> None:
    """``paddle.save`` to a temp file next to ``path``, then rename: a crash never leaves half a file."""
    with atomic_path(path) as tmp:
        paddle.save(obj, tmp)


def save(obj, path: str) -> None:
    """PaddleVideo's ``save(obj, path)``, written atomically."""
    save_atomic(obj, path)


def load(file_name: str) -> Dict:
    """PaddleVideo's ``load(file_name)``, with a clear error for a missing or unreadable file."""
    return load_file(file_name)


def load_ckpt(model: nn.Layer, weight_path: str) -> None:
    """PaddleVideo's ``load_ckpt``: load the weights in ``weight_path`` into ``model`` (position
    embeddings resampled; keys that do not fit are reported and skipped)."""
    load_weights(model, load_file(weight_path), source=weight_path, strict=False)


def mkdir(path: str) -> None:
    os.makedirs(path, exist_ok=True)


def load_file(path: str, what: str = "weights") -> Dict:
    """Load a ``.pdparams``/``.pdopt`` file, with a clear error when it is missing or unreadable."""
    if not os.path.isfile(path):
        raise ConfigError(f"{what} file not found: {path}")
    try:
        return paddle.load(path)
    except Exception as err:  # paddle.load raises many types for a corrupt or foreign file
        raise ConfigError(f"cannot read {what} file {path}: {type(err).__name__}: {err}") from err


def _as_numpy(value) -> np.ndarray:
    return value.numpy() if isinstance(value, paddle.Tensor) else np.asarray(value)


def adapt_pos_embed(state: Dict, model_state: Dict) -> List[str]:
    """Resample every ``*pos_embed`` in ``state`` whose token count differs from the model's (in place)."""
    changed = []
    for key, target in model_state.items():
        if not key.endswith("pos_embed") or key not in state:
            continue
        src = _as_numpy(state[key])
        if src.ndim == 3 and src.shape[1] != target.shape[1] and src.shape[2] == target.shape[2]:
            new_grid = int(round(np.sqrt(target.shape[1] - 1)))
            state[key] = resample_pos_embed(src, new_grid)
            changed.append(f"{key}: {list(src.shape)} -> {list(state[key].shape)}")
    return changed


def diff_state(state: Dict, model_state: Dict) -> Tuple[List[str], List[str], List[str]]:
    """Missing keys, unexpected keys and shape mismatches of ``state`` against the model's."""
    missing = sorted(set(model_state) - set(state))
    unexpected = sorted(set(state) - set(model_state))
    mismatched = [f"{k}: checkpoint {list(_as_numpy(state[k]).shape)} vs model {list(model_state[k].shape)}"
                  for k in sorted(set(state) & set(model_state))
                  if tuple(_as_numpy(state[k]).shape) != tuple(model_state[k].shape)]
    return missing, unexpected, mismatched


def load_weights(layer: nn.Layer, state: Dict, source: str, strict: bool = True) -> None:
    """Load ``state`` into ``layer`` after resampling position embeddings; report what did not fit.

    Args:
        layer: the model (or backbone) to load into.
        state: name -> array/tensor.
        source: where ``state`` came from, for messages.
        strict: raise a ConfigError on missing, unexpected or mismatched keys (else log them and load
            what fits).
    """
    model_state = layer.state_dict()
    state = dict(state)
    for note in adapt_pos_embed(state, model_state):
        logger.info("%s: resampled position embedding %s", source, note)
    missing, unexpected, mismatched = diff_state(state, model_state)
    report = "; ".join(f"{name} ({len(keys)}): {keys[:8]}{' ...' if len(keys) > 8 else ''}"
                       for name, keys in (("missing", missing), ("unexpected", unexpected),
                                          ("mismatched", mismatched)) if keys)
    if report and strict:
        raise ConfigError(f"weights in {source} do not fit the model: {report}")
    if report:
        logger.warning("weights in %s partly loaded: %s", source, report)
    bad = set(unexpected) | {m.split(":")[0] for m in mismatched}
    layer.set_state_dict({k: v for k, v in state.items() if k not in bad})


def rename_optimizer_state(state: Dict, mapping: Dict[str, str]) -> Dict:
    """Rename per-parameter optimizer entries (``<param>_moment1_0`` ...) with ``mapping``.

    Paddle keys optimizer state by auto-generated parameter names (``linear_3.w_0``) that depend on
    how many layers a process built before; saving under structured names (``backbone.blocks.0...``)
    makes ``--resume`` independent of that.
    """
    out = {}
    for key, value in state.items():
        if key == "master_weights" and isinstance(value, dict):
            out[key] = {mapping.get(name, name): w for name, w in value.items()}
            continue
        for old, new in mapping.items():
            if key.startswith(old + "_"):
                key = new + key[len(old):]
                break
        out[key] = value
    return out


def optimizer_state_for_saving(optimizer, model: nn.Layer) -> Dict:
    return rename_optimizer_state(optimizer.state_dict(), {p.name: n for n, p in model.named_parameters()})


def optimizer_state_for_loading(state: Dict, model: nn.Layer) -> Dict:
    return rename_optimizer_state(state, {n: p.name for n, p in model.named_parameters()})
