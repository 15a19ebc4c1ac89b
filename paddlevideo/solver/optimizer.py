"""Optimizers built from the OPTIMIZER section (PaddleVideo's key names)."""
import difflib
from typing import Dict, Optional, Union

import paddle
import paddle.nn as nn

from ..registry import OPTIMIZERS, ConfigError, check_kwargs

# Parameters AdamW does not decay: biases, LayerNorm scales and the embeddings the official models list in
# ``no_weight_decay`` (ViT: pos_embed, cls_token; TimeSformer adds time_embed). ``norm1.weight`` also
# covers TimeSformer's ``temporal_norm1.weight``.
NO_DECAY_SUFFIXES = ("bias", "norm.weight", "norm1.weight", "norm2.weight", "pos_embed", "cls_token",
                     "time_embed")

# ``global`` is our short name; ``ClipGradByGlobalNorm`` is Paddle's class, the name PaddleVideo's
# configs write (PaddleVideo itself accepted any name containing "global", typos included).
GRAD_CLIP_NAMES = ("global", "ClipGradByGlobalNorm")


def grad_clip_keys(value: Optional[float] = None, clip_norm: Optional[float] = None) -> float:
    """The keys of ``OPTIMIZER.grad_clip`` besides ``name``: the maximum global norm, spelled
    ``value`` (PaddleVideo's configs) or ``clip_norm`` (Paddle's argument); exactly one of them."""
    if (value is None) == (clip_norm is None):
        raise ConfigError("OPTIMIZER.grad_clip: give the maximum norm once, as value (or clip_norm)")
    norm = value if clip_norm is None else clip_norm
    if norm <= 0:
        raise ConfigError(f"OPTIMIZER.grad_clip: the maximum norm must be positive, got {norm}")
    return float(norm)


def build_grad_clip(cfg: Optional[Dict]) -> Optional[nn.ClipGradByGlobalNorm]:
    """``{name: global | ClipGradByGlobalNorm, value: 1.0}`` -> clip by global norm (the official
    ``CLIP_GD``); None when ``cfg`` is empty.

    Raises:
        ConfigError: another name, an unknown key (with the nearest names), or no positive norm.
    """
    if not cfg:
        return None
    if not isinstance(cfg, dict) or cfg.get("name") not in GRAD_CLIP_NAMES:
        name = cfg.get("name") if isinstance(cfg, dict) else cfg
        close = difflib.get_close_matches(str(name), GRAD_CLIP_NAMES, n=1)
        hint = f" Did you mean {close}?" if close else ""
        raise ConfigError(f"OPTIMIZER.grad_clip: name must be one of {list(GRAD_CLIP_NAMES)} "
                          f"(clip by global norm), got {name!r}.{hint}")
    keys = {k: v for k, v in cfg.items() if k != "name"}
    check_kwargs(grad_clip_keys, keys, "OPTIMIZER.grad_clip")
    return nn.ClipGradByGlobalNorm(grad_clip_keys(**keys))


def weight_decay_value(cfg: Union[None, float, Dict]) -> float:
    """Accept PaddleVideo's ``{name: L2, value: x}`` or a bare number."""
    if cfg is None:
        return 0.0
    if isinstance(cfg, dict):
        if cfg.get("name") not in ("L2", "L2Decay") or set(cfg) != {"name", "value"}:
            raise ConfigError(f"OPTIMIZER.weight_decay must be {{name: L2, value: <float>}}, got {dict(cfg)}")
        return float(cfg["value"])
    return float(cfg)


@OPTIMIZERS.register()
def Momentum(learning_rate, model: nn.Layer, momentum: float = 0.9, use_nesterov: bool = False,
             weight_decay: Union[None, float, Dict] = None, grad_clip: Optional[Dict] = None):
    """SGD with (Nesterov) momentum and L2 weight decay, the official TokShift optimiser."""
    decay = weight_decay_value(weight_decay)
    return paddle.optimizer.Momentum(
        learning_rate=learning_rate, momentum=momentum, parameters=model.parameters(),
        use_nesterov=use_nesterov, weight_decay=paddle.regularizer.L2Decay(decay) if decay else None,
        grad_clip=build_grad_clip(grad_clip))


@OPTIMIZERS.register()
def AdamW(learning_rate, model: nn.Layer, beta1: float = 0.9, beta2: float = 0.999,
          epsilon: float = 1e-8, weight_decay: Union[None, float, Dict] = 0.05,
          grad_clip: Optional[Dict] = None):
    """AdamW with decoupled weight decay, not applied to biases, norms and embeddings (``NO_DECAY_SUFFIXES``)."""
    names = {p.name: n for n, p in model.named_parameters()}
    return paddle.optimizer.AdamW(
        learning_rate=learning_rate, beta1=beta1, beta2=beta2, epsilon=epsilon,
        parameters=model.parameters(), weight_decay=weight_decay_value(weight_decay),
        apply_decay_param_fun=lambda pname: not names.get(pname, "").endswith(NO_DECAY_SUFFIXES),
        grad_clip=build_grad_clip(grad_clip))
