"""Weight initialisation helpers.

Linear weights use a truncated normal with std 0.02 as in timm / the official ViT. PaddleVideo's
``trunc_normal_`` defaulted to std 1.0, which saturated attention, zeroed a large share of the GELU
outputs and slowed the CPU backward through denormal floats.
"""
import math
from typing import Optional

import paddle.nn as nn
from paddle.nn.initializer import Constant, TruncatedNormal, Uniform

zeros_ = Constant(0.0)
ones_ = Constant(1.0)
CONV_INITS = ("lecun_normal", "torch_default")


def trunc_normal_(param, std: float = 0.02, bound: Optional[float] = None) -> None:
    """Fill ``param`` from N(0, std) truncated to ``[-bound, bound]`` (default: two standard deviations).

    timm's and the official TimeSformer's ``trunc_normal_(std=.02)`` truncate at the absolute bounds
    +-2, i.e. ``bound=2.0``: effectively an untruncated N(0, 0.02), whose samples have std 0.02 (the
    default 2-std truncation gives std 0.88 * 0.02).
    """
    bound = 2 * std if bound is None else bound
    TruncatedNormal(mean=0.0, std=std, a=-bound, b=bound)(param)


def init_vit_layer(layer: nn.Layer, trunc_bound: Optional[float] = None, conv_init: str = "lecun_normal") -> None:
    """Initialise one sub-layer of a ViT: Linear N(0, 0.02) truncated at ``trunc_bound`` with zero bias,
    LayerNorm (1, 0), and the patch conv by ``conv_init``; other layers are left alone.

    The official TokShift and TimeSformer codes differ in the truncation and the conv on purpose; the two
    arguments keep both (their backbones pass them, numerics unchanged).

    Args:
        layer: any layer (meant for ``backbone.apply``).
        trunc_bound: truncation of the Linear weights, see :func:`trunc_normal_`. None (two standard
            deviations) for TokShift / PaddleClas; 2.0 (timm's absolute bound) for the official TimeSformer.
        conv_init: ``lecun_normal``: weight N(0, 1/fan_in) truncated at two standard deviations, zero
            bias (TokShift); ``torch_default``: weight and bias ``U(+-1/sqrt(fan_in))``, PyTorch's
            default, which the official TimeSformer leaves in place.
    """
    if isinstance(layer, nn.Linear):
        trunc_normal_(layer.weight, std=0.02, bound=trunc_bound)
        if layer.bias is not None:
            zeros_(layer.bias)
    elif isinstance(layer, nn.LayerNorm):
        ones_(layer.weight)
        zeros_(layer.bias)
    elif isinstance(layer, nn.Conv2D):
        _init_conv(layer, conv_init)


def _init_conv(layer: nn.Conv2D, conv_init: str) -> None:
    fan_in = int(layer.weight.shape[1] * layer.weight.shape[2] * layer.weight.shape[3])
    if conv_init == "lecun_normal":
        trunc_normal_(layer.weight, std=math.sqrt(1.0 / fan_in))
        if layer.bias is not None:
            zeros_(layer.bias)
    elif conv_init == "torch_default":
        bound = 1.0 / math.sqrt(fan_in)
        Uniform(-bound, bound)(layer.weight)
        if layer.bias is not None:
            Uniform(-bound, bound)(layer.bias)
    else:
        raise ValueError(f"conv_init must be one of {CONV_INITS}, got {conv_init!r}")
