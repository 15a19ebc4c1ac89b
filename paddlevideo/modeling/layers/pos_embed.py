"""Resampling of learned ViT position embeddings to another patch grid.

The official TokShift code resizes the grid with ``scipy.ndimage.zoom(order=1)``, which is bilinear
interpolation with the corner pixels aligned (output index ``o`` samples input ``o*(n_in-1)/(n_out-1)``).
PaddleVideo used nearest-neighbour instead, which cost about 3 points of top-1. This is the one helper
every loader uses; it works on numpy so checkpoint conversion needs no framework.
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
