"""Recognizer for frame-based video transformers, with PaddleVideo's ``model(data_batch, mode)`` API."""
from typing import Dict, List

import paddle
import paddle.nn as nn

from ....registry import RECOGNIZERS

MODES = ("train", "valid", "test", "infer")


@RECOGNIZERS.register()
class RecognizerTransformer(nn.Layer):
    """Backbone + head, dispatching on ``mode``.

    ``data_batch`` is ``[imgs, labels]`` (``[imgs]`` for infer). Training clips are ``[B, 3, T, H, W]``;
    in valid/test/infer the frame axis may hold several views (temporal clips x spatial crops) of
    ``T = backbone.num_seg`` frames each, ``[B, 3, V*T, H, W]``. All views run as one batch (not one
    pass per view) and their logits are averaged.
    """

    def __init__(self, backbone: nn.Layer, head: nn.Layer):
        super().__init__()
        self.backbone = backbone
        self.head = head

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
        """``[B, 3, V*T, H, W]`` -> logits ``[B, K]`` averaged over the V views."""
        c, frames, h, w = imgs.shape[1], imgs.shape[2], imgs.shape[3], imgs.shape[4]
        t = self.backbone.num_seg
        if frames % t:
            raise ValueError(f"input has {frames} frames, not a multiple of num_seg={t}")
        views = frames // t
        x = imgs.reshape([-1, c, views, t, h, w]).transpose([0, 2, 1, 3, 4, 5])  # [B, V, 3, T, H, W]
        logits = self.head(self.backbone(x.reshape([-1, c, t, h, w])))  # [B*V, K]
        return logits.reshape([-1, views, logits.shape[-1]]).mean(axis=1)  # [B, K]

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
