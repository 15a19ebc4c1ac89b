"""Recognizer for frame-based video transformers, with PaddleVideo's ``model(data_batch, mode)`` API.

Multi-view scores are combined per video as in PaddleVideo's ``_average_view`` (``avg_type``
``score`` or ``prob``); the official TokShift test averages the logits (``score``). PaddleVideo
configs set it in ``MODEL.runtime_cfg.test``, which is accepted too (``read_runtime_cfg``).
"""
import difflib
import math
from typing import Any, Callable, Dict, List, Optional

import paddle
import paddle.nn as nn

from ....errors import ConfigError
from ....registry import RECOGNIZERS, check_kwargs
from ....utils.logger import get_logger

MODES = ("train", "valid", "test", "infer")
logger = get_logger()


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


def runtime_test_settings(num_seg: Optional[int] = None, avg_type: Optional[str] = None) -> Dict:
    """PaddleVideo's ``MODEL.runtime_cfg.test``; its keyword arguments are the accepted keys.

    Args:
        num_seg: frames per test view (PaddleVideo splits the frame axis into views of this
            length); must equal the backbone's ``num_seg``, which is what views are split by here.
        avg_type: as the recognizer's ``avg_type``.
    """
    return {"num_seg": num_seg, "avg_type": avg_type}


RUNTIME_CFG_SECTIONS: Dict[str, Callable[..., Dict]] = {"test": runtime_test_settings}


def read_runtime_cfg(runtime_cfg: Optional[Dict[str, Any]]) -> Dict:
    """``runtime_test_settings`` of a PaddleVideo ``runtime_cfg`` (None: all unset).

    Raises:
        ConfigError: not a mapping, or an unknown section or key (with the nearest names).
    """
    if runtime_cfg is None:
        return runtime_test_settings()
    if not isinstance(runtime_cfg, dict):
        raise ConfigError(f"MODEL.runtime_cfg: expected a mapping like {{test: {{num_seg: 8}}}}, "
                          f"got {runtime_cfg!r}")
    for section, settings in runtime_cfg.items():
        if section not in RUNTIME_CFG_SECTIONS:
            close = difflib.get_close_matches(str(section), RUNTIME_CFG_SECTIONS, n=1)
            hint = f" Did you mean {close}?" if close else ""
            raise ConfigError(f"MODEL.runtime_cfg: unknown section '{section}'.{hint} "
                              f"Accepted: {list(RUNTIME_CFG_SECTIONS)}")
        if not isinstance(settings, dict):
            raise ConfigError(f"MODEL.runtime_cfg.{section}: expected a mapping, got {settings!r}")
        check_kwargs(RUNTIME_CFG_SECTIONS[section], settings, f"MODEL.runtime_cfg.{section}")
    return runtime_test_settings(**(runtime_cfg.get("test") or {}))


def resolve_avg_type(avg_type: Optional[str], runtime_avg_type: Optional[str]) -> str:
    """The one ``avg_type`` of ``MODEL.avg_type`` and ``MODEL.runtime_cfg.test.avg_type``
    (default ``score``); ValueError if both are set and differ."""
    if avg_type is not None and runtime_avg_type is not None and avg_type != runtime_avg_type:
        raise ValueError(f"RecognizerTransformer: avg_type {avg_type!r} and runtime_cfg.test.avg_type "
                         f"{runtime_avg_type!r} disagree; set one of them")
    chosen = avg_type if avg_type is not None else runtime_avg_type
    return "score" if chosen is None else chosen


@RECOGNIZERS.register(validate=lambda kwargs: read_runtime_cfg(kwargs.get("runtime_cfg")))
class RecognizerTransformer(nn.Layer):
    """Backbone + head, dispatching on ``mode``.

    ``data_batch`` is ``[imgs, labels]`` (``[imgs]`` for infer). Training clips are
    ``[B, 3, T, H, W]``; in valid/test/infer the frame axis may hold several views (temporal clips
    x spatial crops x flips) of ``T = backbone.num_seg`` frames each, ``[B, 3, V*T, H, W]``. All
    views run as one batch (not one pass per view) and are combined into one ``[B, num_classes]``
    row per video. The head owns any pooling over frames, so this class never looks at the feature
    shape: TokShift's backbone returns per-frame class tokens ``[B, T, D]`` that ``TokenShiftHead``
    averages, TimeSformer's returns the clip's class token ``[B, D]`` that ``TimeSformerHead`` classifies.

    Args:
        backbone: the built backbone (has ``num_seg``).
        head: the built head (has ``loss``).
        avg_type: how views are combined: ``"score"`` (default) averages the logits, as the
            official TokShift test; ``"prob"`` averages the softmax probabilities and returns their
            log (see ``average_probs``), so the output is still a logit vector.
        runtime_cfg: PaddleVideo's ``{test: {num_seg, avg_type}}`` (see ``runtime_test_settings``):
            ``avg_type`` there is the same setting as ``avg_type`` here; ``num_seg`` there must
            equal the backbone's.

    Raises:
        ValueError: an unknown ``avg_type``, two different ones, or a runtime ``num_seg`` other
            than the backbone's.
        ConfigError: an unknown key in ``runtime_cfg``.
    """

    def __init__(self, backbone: nn.Layer, head: nn.Layer, avg_type: Optional[str] = None,
                 runtime_cfg: Optional[Dict[str, Any]] = None):
        super().__init__()
        runtime = read_runtime_cfg(runtime_cfg)
        if runtime["num_seg"] is not None and runtime["num_seg"] != backbone.num_seg:
            raise ValueError(f"RecognizerTransformer: runtime_cfg.test.num_seg ({runtime['num_seg']}) "
                             f"must equal the backbone's num_seg ({backbone.num_seg})")
        avg_type = resolve_avg_type(avg_type, runtime["avg_type"])
        if avg_type not in VIEW_AVERAGES:
            raise ValueError(f"RecognizerTransformer: avg_type must be one of "
                             f"{list(VIEW_AVERAGES)}, got {avg_type!r}")
        self.backbone = backbone
        self.head = head
        self.avg_type = avg_type
        self.average_views = VIEW_AVERAGES[avg_type]
        count = sum(int(p.size) for p in self.parameters())
        logger.info("model: %s + %s, %s parameters (%.1fM)", type(backbone).__name__, type(head).__name__,
                    f"{count:,}", count / 1e6)

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
