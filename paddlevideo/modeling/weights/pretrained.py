"""Backbone initialisation from image-pretrained ViT weights (``MODEL.backbone.pretrained``).

Any format :func:`~.formats.read_weights` detects is accepted: Google ViT ``.npz`` (what the official
TokShift fine-tunes from), PaddleClas / PaddleVideo ``ViT_base_patch16_224_pretrained.pdparams``, and
full TokShift checkpoints (``.pdparams`` or official ``.pth``) when fine-tuning from a video model.
The classifier is dropped with a logged note, the position embedding is resampled to the backbone's
``img_size`` with the shared bilinear helper, and any missing, unexpected or mismatched key is a
ConfigError naming them (see :func:`~paddlevideo.modeling.weights.loading.load_weights`).
"""
import logging

import paddle.nn as nn

from .formats import backbone_state, read_weights
from .loading import load_weights

logger = logging.getLogger("paddlevideo")


def load_pretrained_backbone(backbone: nn.Layer, path: str) -> None:
    """Initialise ``backbone`` from the weights file at ``path`` (format detected from its content)."""
    weights = read_weights(path)
    state = backbone_state(weights.state, source=path)
    load_weights(backbone, state, source=f"MODEL.backbone.pretrained {path}", strict=True)
    logger.info("pretrained: initialised the backbone from %s (%s, %d tensors)", path, weights.format,
                len(state))


def load_timesformer_pretrained(backbone: nn.Layer, path: str) -> None:
    """Initialise a TimeSformer ``backbone`` from an image ViT or a TimeSformer checkpoint at ``path``.

    Same formats and checks as :func:`load_pretrained_backbone`; in between, the temporal parts are
    filled or dropped as the official ``load_pretrained`` does (see
    :func:`~.timesformer.adapt_to_timesformer`).
    """
    from .timesformer import adapt_to_timesformer

    weights = read_weights(path)
    model_state = {k: v.numpy() for k, v in backbone.state_dict().items()}
    state = adapt_to_timesformer(backbone_state(weights.state, source=path), model_state, path)
    load_weights(backbone, state, source=f"MODEL.backbone.pretrained {path}", strict=True)
    logger.info("pretrained: initialised the TimeSformer backbone from %s (%s, %d tensors)", path,
                weights.format, len(state))
