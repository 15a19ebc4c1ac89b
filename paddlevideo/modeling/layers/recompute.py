"""Activation recomputation for transformer blocks (``backbone.recompute: True``).

Each block keeps only its input in the forward pass and reruns its forward during backward: less memory
for about one extra forward per step, with values and gradients unchanged.
"""
from typing import Any

import paddle.nn as nn
from paddle.distributed.fleet.utils import recompute as recompute_checkpoint

from .fast_paths import reference_kernels


def run_block(block: nn.Layer, *args: Any, recompute: bool, **kwargs: Any) -> Any:
    """``block(*args, **kwargs)``, recomputed in backward when ``recompute`` is true.

    Paddle 3.3's default, the reentrant (PyLayer) recompute, fails under ``paddle.DataParallel``
    ("parameter ... has been ready before") unless backward runs inside ``no_sync``; the hook-based one
    (``use_reentrant=False``) leaves gradient accumulation to the ordinary backward pass and works with
    it. ``preserve_rng_state=True`` (the default, spelled out) saves the Paddle, numpy and ``random``
    generator states at the forward and restores them around the rerun, so dropout and drop-path redraw
    the same masks and later draws are unaffected. The block runs with :func:`.fast_paths.reference_kernels`
    (forward and rerun): the hook-based recompute cannot trace a ``PyLayer``, and the rerun needs the
    block's input unchanged (the fast token shift writes into it).
    """
    if not recompute:
        return block(*args, **kwargs)
    return recompute_checkpoint(_with_reference_kernels, block, *args, use_reentrant=False,
                                preserve_rng_state=True, **kwargs)


def _with_reference_kernels(block: nn.Layer, *args: Any, **kwargs: Any) -> Any:
    with reference_kernels():
        return block(*args, **kwargs)
