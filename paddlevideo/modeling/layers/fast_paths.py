"""One switch for this package's eager fast paths (:mod:`.linear`, :mod:`.layer_norm`'s backward, the
in-place :mod:`.token_shift`).

Each fast path has a reference formulation that computes the same function with plain Paddle ops:
``F.linear`` for the linear layers, Paddle's own LayerNorm gradient, slicing and ``concat`` for the
token shift. The reference runs in static graphs (``to_static``/export, so exported programs never
contain the fast paths) and inside :func:`reference_kernels`; the kernels written for CPU
(:func:`cpu_fast_paths_enabled`) also leave GPU tensors to Paddle. Paddle's hook-based recompute needs the reference: it cannot trace a
``PyLayer`` (it crashed on one, Paddle 3.3.1), and it keeps a block's input to rerun the block, so the
block must not write into that input.
"""
import contextlib
import threading
from typing import Iterator

import paddle

_STATE = threading.local()


@contextlib.contextmanager
def reference_kernels() -> Iterator[None]:
    """Within this context every fast path runs its reference formulation."""
    previous = getattr(_STATE, "reference", False)
    _STATE.reference = True
    try:
        yield
    finally:
        _STATE.reference = previous


def fast_paths_enabled() -> bool:
    """True in eager mode outside :func:`reference_kernels`."""
    return paddle.in_dynamic_mode() and not getattr(_STATE, "reference", False)


def cpu_fast_paths_enabled(x: paddle.Tensor) -> bool:
    """:func:`fast_paths_enabled` and ``x`` on the CPU (where the linear and LayerNorm kernels pay off)."""
    return fast_paths_enabled() and x.place.is_cpu_place()
