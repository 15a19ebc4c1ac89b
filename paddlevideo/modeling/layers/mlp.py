"""Transformer feed-forward block."""
import paddle
import paddle.nn as nn

from .linear import linear


class Mlp(nn.Layer):
    """fc1 -> exact (erf) GELU -> dropout -> fc2 -> dropout, as in the official ViT.

    ``fc1``/``fc2`` hold the parameters; the products run through :func:`.linear.linear` (faster eager CPU
    training, same graph when exported).
    """

    def __init__(self, in_features: int, hidden_features: int, drop: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU(approximate=False)
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        hidden = self.drop(self.act(linear(x, self.fc1.weight, self.fc1.bias)))
        return self.drop(linear(hidden, self.fc2.weight, self.fc2.bias))
