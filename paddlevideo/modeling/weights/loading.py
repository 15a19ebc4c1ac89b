"""Fitting a state dict into a model: position embeddings resampled to the model's grid, and a report of
every key that is missing, unexpected or of another shape (an error, or a warning with ``strict=False``)."""
from typing import Dict, List, Tuple

import numpy as np
import paddle
import paddle.nn as nn

from ...errors import ConfigError
from ...utils.checkpoint import load_file
from ...utils.logger import get_logger
from ..layers.pos_embed import resample_pos_embed

logger = get_logger()


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
    fitted = {k: v for k, v in state.items() if k not in bad}
    # Missing keys keep the model's values; passing them on keeps Paddle from warning once per key
    # (the report above already named them).
    fitted.update({k: model_state[k] for k in missing})
    layer.set_state_dict(fitted)


def load_ckpt(model: nn.Layer, weight_path: str) -> None:
    """PaddleVideo's ``load_ckpt``: load the weights in ``weight_path`` into ``model`` (position
    embeddings resampled; keys that do not fit are reported and skipped)."""
    load_weights(model, load_file(weight_path), source=weight_path, strict=False)
