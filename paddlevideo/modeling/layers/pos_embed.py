"""Resampling of learned ViT position embeddings to another patch grid.

The official TokShift code resizes the grid with ``scipy.ndimage.zoom(order=1)``, which is bilinear
interpolation with the corner pixels aligned (output index ``o`` samples input ``o*(n_in-1)/(n_out-1)``).
PaddleVideo used nearest-neighbour instead, which cost about 3 points of top-1. This is the one helper
every loader uses; it works on numpy so checkpoint conversion needs no framework.

:func:`nearest_indices` is the other rule: nearest-neighbour as ``F.interpolate(mode='nearest')``, which
is what the official TimeSformer applies to its time embedding and, in its forward, to the position grid.
"""
import numpy as np


def _linear_weights(n_in: int, n_out: int):
    """Indices and weights of 1-D linear interpolation with aligned corners."""
    if n_out == 1:
        pos = np.zeros(1)
    else:
        pos = np.arange(n_out) * (n_in - 1) / (n_out - 1)
    lo = np.clip(np.floor(pos).astype(np.int64), 0, n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, pos - lo


def resize_grid(grid: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Bilinear, corner-aligned resize of ``grid`` ``[H, W, C]`` to ``[out_h, out_w, C]`` (float64)."""
    grid = np.asarray(grid, dtype=np.float64)
    lo, hi, w = _linear_weights(grid.shape[0], out_h)
    grid = grid[lo] * (1 - w)[:, None, None] + grid[hi] * w[:, None, None]
    lo, hi, w = _linear_weights(grid.shape[1], out_w)
    return grid[:, lo] * (1 - w)[None, :, None] + grid[:, hi] * w[None, :, None]


def resample_pos_embed(pos_embed: np.ndarray, new_grid: int, num_prefix_tokens: int = 1) -> np.ndarray:
    """Resample ``pos_embed`` ``[1, prefix + g*g, D]`` to ``[1, prefix + new_grid**2, D]``.

    The class-token embedding (the first ``num_prefix_tokens`` rows) is kept as is.
    """
    pos_embed = np.asarray(pos_embed)
    prefix, grid = pos_embed[:, :num_prefix_tokens], pos_embed[0, num_prefix_tokens:]
    old = int(round(np.sqrt(grid.shape[0])))
    if old * old != grid.shape[0]:
        raise ValueError(f"position embedding with {grid.shape[0]} patch tokens is not a square grid")
    if old == new_grid:
        return pos_embed
    resized = resize_grid(grid.reshape(old, old, -1), new_grid, new_grid)
    resized = resized.reshape(1, new_grid * new_grid, -1).astype(pos_embed.dtype)
    return np.concatenate([prefix, resized], axis=1)


def nearest_indices(n_in: int, n_out: int) -> np.ndarray:
    """Source index of every output position of a 1-D nearest-neighbour resize from ``n_in`` to ``n_out``.

    The rule of ``F.interpolate(mode='nearest')`` in PyTorch (and Paddle, ``align_corners=False``):
    ``min(floor(i * s), n_in - 1)`` with the scale ``s = n_in / n_out`` and the product computed in
    float32, as the kernels do. The official TimeSformer resizes its time embedding (to the clip's
    frame count) and, at run time, its position grid (to the input's patch grid) this way.

    Returns:
        int64 array ``[n_out]`` of indices into ``[0, n_in)``.
    """
    if n_in < 1 or n_out < 1:
        raise ValueError(f"nearest resize needs positive sizes, got {n_in} -> {n_out}")
    if n_in == n_out:
        return np.arange(n_out, dtype=np.int64)
    scale = np.float32(n_in) / np.float32(n_out)
    index = np.floor(np.arange(n_out, dtype=np.float32) * scale).astype(np.int64)
    return np.minimum(index, n_in - 1)


def resize_nearest(array: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    """``array`` resized to ``n_out`` entries along ``axis`` with :func:`nearest_indices` (a gather)."""
    return np.take(np.asarray(array), nearest_indices(array.shape[axis], n_out), axis=axis)
