"""Backbone initialisation from image-pretrained ViT weights (``MODEL.backbone.pretrained``).

Any format :func:`~.formats.read_weights` detects is accepted: Google ViT ``.npz`` (what the official
TokShift fine-tunes from), PaddleClas / PaddleVideo ``ViT_base_patch16_224_pretrained.pdparams``, and
full TokShift checkpoints (``.pdparams`` or official ``.pth``) when fine-tuning from a video model.
The classifier is dropped with a logged note, the position embedding is resampled to the backbone's
``img_size`` with the shared bilinear helper, and any missing, unexpected or mismatched key is a
ConfigError naming them (see :func:`~paddlevideo.modeling.weights.loading.load_weights`) -- except the
token-selection scorers of a selecting backbone (``token_selection.*``), which no pretrained file has:
they keep their initialisation, as the STTS recipe starts them.
"""

import paddle.nn as nn

from ...utils.logger import get_logger
from .formats import backbone_state, read_weights
from .loading import load_weights

logger = get_logger()

SCORER_PREFIX = "token_selection."


def with_own_scorers(backbone: nn.Layer, state: dict, path: str) -> dict:
    """``state`` plus the backbone's own token-selection scorers where ``state`` has none."""
    own = {k: v for k, v in backbone.state_dict().items() if k.startswith(SCORER_PREFIX) and k not in state}
    if own:
        logger.info("pretrained: %s has no token-selection scorers; %d tensors keep their initialisation",
                    path, len(own))
    return {**state, **own}


def load_pretrained_backbone(backbone: nn.Layer, path: str) -> None:
    """Initialise ``backbone`` from the weights file at ``path`` (format detected from its content)."""
    weights = read_weights(path)
    state = with_own_scorers(backbone, backbone_state(weights.state, source=path), path)
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
    state = with_own_scorers(backbone, state, path)
    load_weights(backbone, state, source=f"MODEL.backbone.pretrained {path}", strict=True)
    logger.info("pretrained: initialised the TimeSformer backbone from %s (%s, %d tensors)", path,
                weights.format, len(state))
