"""Recognizer for frame-based video transformers, with PaddleVideo's ``model(data_batch, mode)`` API.

Multi-view scores are combined per video as in PaddleVideo's ``_average_view`` (``avg_type``
``score`` or ``prob``); the official TokShift test averages the logits (``score``).
"""
import math
from typing import Callable, Dict, List

import paddle
import paddle.nn as nn

from ....registry import RECOGNIZERS

MODES = ("train", "valid", "test", "infer")


def average_scores(logits: paddle.Tensor) -> paddle.Tensor:
    """Mean of the logits over the views: ``[B, V, K]`` -> ``[B, K]``."""
    return logits.mean(axis=1)


def average_probs(logits: paddle.Tensor) -> paddle.Tensor:
    """Log of the mean softmax over the views: ``[B, V, K]`` -> ``[B, K]``.

    The log keeps the output a logit vector: ``softmax(out) == mean_v softmax(logits[:, v])``
    exactly (the mean probabilities already sum to 1), so losses, top-k and the softmax applied
    downstream (test reports, ``predict.py``) see the averaged probabilities. Computed as
    ``logsumexp_v(log_softmax) - log V`` so that tiny probabilities do not underflow to ``log 0``;
    the log-softmax is ``logits - logsumexp`` because Paddle's CPU ``F.log_softmax`` floors its
    output at -64 (measured on Paddle 3.3: ``log_softmax([0, -100]) == [0, -64]``).
    """
    log_probs = logits - paddle.logsumexp(logits, axis=-1, keepdim=True)  # [B, V, K]
    return paddle.logsumexp(log_probs, axis=1) - math.log(logits.shape[1])  # [B, K]


VIEW_AVERAGES: Dict[str, Callable[[paddle.Tensor], paddle.Tensor]] = {
    "score": average_scores, "prob": average_probs}


@RECOGNIZERS.register()
class RecognizerTransformer(nn.Layer):
    """Backbone + head, dispatching on ``mode``.

    ``data_batch`` is ``[imgs, labels]`` (``[imgs]`` for infer). Training clips are
    ``[B, 3, T, H, W]``; in valid/test/infer the frame axis may hold several views (temporal clips
    x spatial crops x flips) of ``T = backbone.num_seg`` frames each, ``[B, 3, V*T, H, W]``. All
    views run as one batch (not one pass per view) and are combined into one ``[B, num_classes]``
    row per video.

    Args:
        backbone: the built backbone (has ``num_seg``).
        head: the built head (has ``loss``).
        avg_type: how views are combined: ``"score"`` (default) averages the logits, as the
            official TokShift test; ``"prob"`` averages the softmax probabilities and returns their
            log (see ``average_probs``), so the output is still a logit vector.

    Raises:
        ValueError: an unknown ``avg_type``.
    """

    def __init__(self, backbone: nn.Layer, head: nn.Layer, avg_type: str = "score"):
        super().__init__()
        if avg_type not in VIEW_AVERAGES:
            raise ValueError(f"RecognizerTransformer: avg_type must be one of "
                             f"{list(VIEW_AVERAGES)}, got {avg_type!r}")
        self.backbone = backbone
        self.head = head
        self.avg_type = avg_type
        self.average_views = VIEW_AVERAGES[avg_type]

    def init_weights(self) -> None:
        self.backbone.init_weights()
        self.head.init_weights()

    def forward(self, data_batch: List[paddle.Tensor], mode: str = "infer"):
        if mode == "train":
            return self.train_step(data_batch)
        if mode == "valid":
            return self.val_step(data_batch)
        if mode == "test":
            return self.test_step(data_batch)
        if mode == "infer":
            return self.infer_step(data_batch)
        raise ValueError(f"mode must be one of {MODES}, got '{mode}'")

    def forward_views(self, imgs: paddle.Tensor) -> paddle.Tensor:
        """``[B, 3, V*T, H, W]`` -> ``[B, K]``, the V views combined by ``avg_type``."""
        c, frames, h, w = imgs.shape[1], imgs.shape[2], imgs.shape[3], imgs.shape[4]
        t = self.backbone.num_seg
        if frames % t:
            raise ValueError(f"input has {frames} frames, not a multiple of num_seg={t}")
        views = frames // t
        x = imgs.reshape([-1, c, views, t, h, w]).transpose([0, 2, 1, 3, 4, 5])  # [B, V, 3, T, H, W]
        logits = self.head(self.backbone(x.reshape([-1, c, t, h, w])))  # [B*V, K]
        return self.average_views(logits.reshape([-1, views, logits.shape[-1]]))  # [B, K]

    def train_step(self, data_batch) -> Dict[str, paddle.Tensor]:
        imgs, labels = data_batch[0], data_batch[1]
        return self.head.loss(self.head(self.backbone(imgs)), labels)

    def val_step(self, data_batch) -> Dict[str, paddle.Tensor]:
        imgs, labels = data_batch[0], data_batch[1]
        return self.head.loss(self.forward_views(imgs), labels)

    def test_step(self, data_batch) -> paddle.Tensor:
        return self.forward_views(data_batch[0])

    def infer_step(self, data_batch) -> paddle.Tensor:
        return self.forward_views(data_batch[0])
