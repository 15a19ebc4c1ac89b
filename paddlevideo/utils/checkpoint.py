"""Saving and loading of checkpoint files: atomic writes, clear errors for unreadable files, optimizer
state keyed by parameter names. Fitting weights into a model is :mod:`paddlevideo.modeling.weights.loading`."""
import os
from typing import Dict

import paddle
import paddle.nn as nn

from ..errors import ConfigError
from .atomic import atomic_path
from .safe_pickle import load_paddle


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


def mkdir(path: str) -> None:
    os.makedirs(path, exist_ok=True)


def load_file(path: str, what: str = "weights") -> Dict:
    """Load a ``.pdparams``/``.pdopt`` file as ``paddle.load`` would, with a clear error when it is missing
    or unreadable.

    Checkpoints come from the internet, so they are read with :func:`safe_pickle.load_paddle`, which
    refuses a pickle that names anything beyond arrays and containers instead of running it.
    """
    if not os.path.isfile(path):
        raise ConfigError(f"{what} file not found: {path}")
    try:
        return load_paddle(path)
    except ConfigError:
        raise
    except Exception as err:  # a truncated or foreign pickle fails with many types
        raise ConfigError(f"cannot read {what} file {path}: {type(err).__name__}: {err}") from err


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
