"""Build models from the MODEL config section."""
from typing import Dict

import paddle.nn as nn

from ..registry import BACKBONES, HEADS, RECOGNIZERS, ConfigError, build
from . import backbones, framework, heads, losses  # noqa: F401  (registration)


def build_backbone(cfg: Dict) -> nn.Layer:
    return build(cfg, BACKBONES)


def build_head(cfg: Dict) -> nn.Layer:
    return build(cfg, HEADS)


def build_model(cfg: Dict, init: bool = True) -> nn.Layer:
    """Build a recognizer from ``MODEL`` (``framework``, ``backbone``, ``head``).

    Args:
        cfg: the MODEL section.
        init: run ``init_weights`` (random init + ``backbone.pretrained``); skip it when a full
            checkpoint is loaded right after.
    """
    for key in ("framework", "backbone", "head"):
        if key not in cfg:
            raise ConfigError(f"MODEL: missing required key '{key}'")
    extra = set(cfg) - {"framework", "backbone", "head"}
    if extra:
        raise ConfigError(f"MODEL: unknown key(s) {sorted(extra)}; expected framework, backbone, head")
    model = build({"framework": cfg["framework"]}, RECOGNIZERS, key="framework",
                  backbone=build_backbone(cfg["backbone"]), head=build_head(cfg["head"]))
    if init:
        model.init_weights()
    return model
