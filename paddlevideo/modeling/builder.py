"""Build models from the MODEL config section."""
from typing import Dict

import paddle.nn as nn

from ..errors import ConfigError
from ..registry import BACKBONES, HEADS, RECOGNIZERS, build
from . import backbones, framework, heads, losses  # noqa: F401  (registration)


def build_backbone(cfg: Dict) -> nn.Layer:
    return build(cfg, BACKBONES)


def build_head(cfg: Dict) -> nn.Layer:
    return build(cfg, HEADS)


def build_model(cfg: Dict, init: bool = True) -> nn.Layer:
    """Build a recognizer from ``MODEL`` (``framework``, ``backbone``, ``head``).

    Any other MODEL key is a keyword of the recognizer's constructor (e.g. ``avg_type``); a key the
    recognizer does not accept is an error naming the accepted keys.

    Args:
        cfg: the MODEL section.
        init: run ``init_weights`` (random init + ``backbone.pretrained``); skip it when a full
            checkpoint is loaded right after.
    """
    for key in ("framework", "backbone", "head"):
        if key not in cfg:
            raise ConfigError(f"MODEL: missing required key '{key}'")
    recognizer_cfg = {k: v for k, v in cfg.items() if k not in ("backbone", "head")}
    model = build(recognizer_cfg, RECOGNIZERS, key="framework",
                  backbone=build_backbone(cfg["backbone"]), head=build_head(cfg["head"]))
    if init:
        model.init_weights()
    return model
