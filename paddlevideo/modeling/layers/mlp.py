"""Transformer feed-forward block."""
import paddle
import paddle.nn as nn

from .linear import Linear


class Mlp(nn.Layer):
    """fc1 -> exact (erf) GELU -> dropout -> fc2 -> dropout, as in the official ViT: ``[..., C]`` -> ``[..., C]``.

    ``fc1``/``fc2`` are :class:`.linear.Linear` layers (faster eager CPU training, same graph when exported).
    """

    def __init__(self, in_features: int, hidden_features: int, drop: float = 0.0):
        super().__init__()
        self.fc1 = Linear(in_features, hidden_features)
        self.act = nn.GELU(approximate=False)
        self.fc2 = Linear(hidden_features, in_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))
