"""Optimizers built from the OPTIMIZER section (PaddleVideo's key names)."""
from typing import Dict, Optional, Union

import paddle
import paddle.nn as nn

from ..registry import OPTIMIZERS, ConfigError

NO_DECAY_SUFFIXES = ("bias", "norm.weight", "norm1.weight", "norm2.weight", "pos_embed", "cls_token")


def build_grad_clip(cfg: Optional[Dict]):
    """``{name: global, value: 1.0}`` -> clip by global norm (the official ``CLIP_GD``)."""
    if not cfg:
        return None
    if cfg.get("name") != "global" or set(cfg) != {"name", "value"}:
        raise ConfigError(f"OPTIMIZER.grad_clip must be {{name: global, value: <float>}}, got {dict(cfg)}")
    return nn.ClipGradByGlobalNorm(float(cfg["value"]))


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
    """AdamW with decoupled weight decay, not applied to biases, norms, position embedding, class token."""
    names = {p.name: n for n, p in model.named_parameters()}
    return paddle.optimizer.AdamW(
        learning_rate=learning_rate, beta1=beta1, beta2=beta2, epsilon=epsilon,
        parameters=model.parameters(), weight_decay=weight_decay_value(weight_decay),
        apply_decay_param_fun=lambda pname: not names.get(pname, "").endswith(NO_DECAY_SUFFIXES),
        grad_clip=build_grad_clip(grad_clip))
