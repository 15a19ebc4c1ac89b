"""Small deliberate slips applied to a built model, to prove a parity test's tolerance catches them."""
import paddle.nn as nn


def layer_norm_eps_1e5(model: nn.Layer) -> None:
    """Every LayerNorm at eps 1e-5 (PaddleVideo's class default) instead of the official 1e-6."""
    for layer in model.sublayers():
        if isinstance(layer, nn.LayerNorm):
            layer._epsilon = 1e-5


def tanh_gelu(model: nn.Layer) -> None:
    """The tanh approximation of GELU instead of the exact (erf) one."""
    for layer in model.sublayers():
        if isinstance(getattr(layer, "act", None), nn.GELU):
            layer.act = nn.GELU(approximate=True)
