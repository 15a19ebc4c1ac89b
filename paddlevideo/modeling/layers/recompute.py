"""Activation recomputation for transformer blocks (``backbone.recompute: True``).

Each block keeps only its input in the forward pass and reruns its forward during backward: less memory
for about one extra forward per step, with values and gradients unchanged.
"""
from typing import Any

import paddle.nn as nn
from paddle.distributed.fleet.utils import recompute as recompute_checkpoint

from .linear import reference_kernels


def run_block(block: nn.Layer, *args: Any, recompute: bool) -> Any:
    """``block(*args)``, recomputed in backward when ``recompute`` is true.

    Paddle 3.3's default, the reentrant (PyLayer) recompute, fails under ``paddle.DataParallel``
    ("parameter ... has been ready before") unless backward runs inside ``no_sync``; the hook-based one
    (``use_reentrant=False``) leaves gradient accumulation to the ordinary backward pass and works with
    it. ``preserve_rng_state=True`` (the default, spelled out) saves the Paddle, numpy and ``random``
    generator states at the forward and restores them around the rerun, so dropout and drop-path redraw
    the same masks and later draws are unaffected. The block runs with :func:`.linear.reference_kernels`
    (forward and rerun), since the hook-based recompute cannot trace a ``PyLayer``.
    """
    if not recompute:
        return block(*args)
    return recompute_checkpoint(_with_reference_kernels, block, *args, use_reentrant=False,
                                preserve_rng_state=True)


def _with_reference_kernels(block: nn.Layer, *args: Any) -> Any:
    with reference_kernels():
        return block(*args)
