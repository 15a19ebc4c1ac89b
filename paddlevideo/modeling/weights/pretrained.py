"""Backbone initialisation from image-pretrained ViT weights.

Supported: PaddleClas / PaddleVideo ``ViT_base_patch16_224_pretrained.pdparams`` (names already match
the backbone) and PaddleVideo TokShift checkpoints (``backbone.``-prefixed). The classifier is dropped
and the position embedding resampled to the backbone's ``img_size``.
"""
import logging
from typing import Dict

import paddle.nn as nn

from ...registry import ConfigError
from ...utils.checkpoint import load_file, load_weights

logger = logging.getLogger("paddlevideo")


def backbone_state_from_pdparams(state: Dict) -> Dict:
    """Strip a ``backbone.`` prefix and drop classifier entries (``head.*``)."""
    if any(k.startswith("backbone.") for k in state):
        state = {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}
    dropped = sorted(k for k in state if k.startswith("head."))
    if dropped:
        logger.info("pretrained: dropped the image classifier %s", dropped)
    return {k: v for k, v in state.items() if not k.startswith("head.")}


def load_pretrained_backbone(backbone: nn.Layer, path: str) -> None:
    """Initialise ``backbone`` from the pretrained file at ``path`` (format from its extension)."""
    if not path.endswith(".pdparams"):
        raise ConfigError(f"MODEL.backbone.pretrained: unsupported file type '{path}' (expected .pdparams)")
    state = backbone_state_from_pdparams(load_file(path, "MODEL.backbone.pretrained"))
    load_weights(backbone, state, source=path, strict=True)
    logger.info("pretrained: loaded backbone weights from %s", path)
