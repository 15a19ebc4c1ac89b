"""Optimizers and learning-rate schedules."""
import inspect
from typing import Dict

import paddle.nn as nn

from ..errors import ConfigError
from ..registry import LRSCHEDULERS, OPTIMIZERS, build
from . import lr, optimizer  # noqa: F401  (registration)
from .optimizer import ParamGroups, build_param_groups

__all__ = ["ParamGroups", "build_lr", "build_optimizer", "build_param_groups"]

def build_lr(cfg: Dict, iters_per_epoch: int, epochs: int):
    """Build the schedule in ``OPTIMIZER.learning_rate``; a bare number means a constant rate."""
    if not isinstance(cfg, dict):
        return float(cfg)
    params = inspect.signature(LRSCHEDULERS.get(cfg.get("name"))).parameters
    extra = {k: v for k, v in (("iters_per_epoch", iters_per_epoch), ("epochs", epochs)) if k in params}
    return build(cfg, LRSCHEDULERS, **extra)


def build_optimizer(cfg: Dict, model: nn.Layer, iters_per_epoch: int, epochs: int):
    """Return ``(optimizer, lr_scheduler_or_float)`` from the OPTIMIZER section."""
    if "learning_rate" not in cfg:
        raise ConfigError("OPTIMIZER: missing required key 'learning_rate'")
    lr_sched = build_lr(cfg["learning_rate"], iters_per_epoch, epochs)
    opt_cfg = {k: v for k, v in cfg.items() if k != "learning_rate"}
    return build(opt_cfg, OPTIMIZERS, learning_rate=lr_sched, model=model), lr_sched
