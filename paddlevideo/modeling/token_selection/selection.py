"""Spatial-temporal token selection (STTS, Wang et al., ECCV 2022) for the frame-based transformers.

A backbone hands its tokens to :class:`TokenSelection` before the configured blocks in one layout,
``[B, T, M, C]``: T frames of M tokens, the first ``num_prefix`` of which (TokShift's per-frame class
token) are always kept. What follows matches STTS's semantics, not its code:

* **temporal** (:class:`TemporalSelection`): a :class:`~.scorer.TokenScorer` scores every patch token of
  the clip (the global feature is pooled over the whole clip); a frame's score is the mean of its tokens'
  scores; the ``K = round(keep * T)`` best frames are kept **in their original order**, whole (class
  token included);
* **spatial** (:class:`SpatialSelection`): token scores are pooled over every ``a x a`` window of the
  patch grid (stride 1, ``a = round(grid * sqrt(keep))``, so about ``keep`` of the patch tokens stay) and
  the best window is kept. Per frame (global feature pooled per frame), or with ``per_clip`` one window
  for the whole clip: window scores summed over its frames, scorer pooled over the clip;
* training: the top-K indicator is STTS's perturbed maximum (:func:`~.topk.perturbed_topk`, 500
  Gaussian samples, ``sigma`` 0.1 decaying linearly to 0 over training through :meth:`set_progress`),
  applied as a soft selection matrix (a matmul), so the scorer gets gradients from the task loss alone;
* eval and export: hard top-K and a gather (``take_along_axis``), so the blocks after a selection really
  run on fewer tokens in dygraph, Paddle Inference and ONNX.

With ``keep: 1.0`` every selection keeps everything in order (identity gather / identity matrix), and
the logits equal the full model's exactly; the scorer still runs (that is what the test checks).
"""
import functools
import math
from typing import Dict, Optional, Tuple

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ...registry import check_kwargs
from .scorer import TokenScorer
from .topk import hard_topk_indices, minmax_normalize, perturbed_topk

DEFAULT_SIGMA = 0.1  # STTS's initial sigma
DEFAULT_NUM_SAMPLES = 500  # STTS's number of Gaussian samples


def num_kept_frames(num_frames: int, keep: float) -> int:
    """``round(keep * num_frames)``, at least 1."""
    return min(num_frames, max(1, int(keep * num_frames + 0.5)))


def window_side(grid: int, keep: float) -> int:
    """Side of the kept window on a grid side of ``grid`` patches: ``round(grid * sqrt(keep))``, >= 1."""
    return min(grid, max(1, int(grid * math.sqrt(keep) + 0.5)))


@functools.lru_cache(maxsize=None)
def window_table(grid: Tuple[int, int], window: Tuple[int, int]) -> np.ndarray:
    """Patch indices (row-major on the grid) of every window, int64 ``[A, wh*ww]``.

    Windows are ordered as ``avg_pool2d(stride=1)`` lays out its output: top-left corner ``(i, j)``
    at row ``i * (gw - ww + 1) + j``.
    """
    (gh, gw), (wh, ww) = grid, window
    rows = np.arange(gh - wh + 1)[:, None, None, None] + np.arange(wh)[None, None, :, None]
    cols = np.arange(gw - ww + 1)[None, :, None, None] + np.arange(ww)[None, None, None, :]
    return (rows * gw + cols).reshape((gh - wh + 1) * (gw - ww + 1), wh * ww).astype(np.int64)


@functools.lru_cache(maxsize=None)
def window_onehots(grid: Tuple[int, int], window: Tuple[int, int]) -> np.ndarray:
    """:func:`window_table` as one-hot rows over the grid's patches, float32 ``[A, wh*ww*gh*gw]`` (each
    anchor's rows flattened): the matrix that turns soft window weights into a soft token selection.
    Cached, since training builds it at every step."""
    table = window_table(grid, window)
    return np.eye(grid[0] * grid[1], dtype=np.float32)[table].reshape(table.shape[0], -1)


def selection_options(block: int, keep: float, sigma: float = DEFAULT_SIGMA,
                      num_samples: int = DEFAULT_NUM_SAMPLES) -> Dict:
    """The keys of ``token_selection.temporal`` / ``.spatial`` (the schema of the config).

    Args:
        block: index of the block whose input is selected (0: right after the embeddings).
        keep: fraction of frames (temporal) or of patch tokens (spatial) kept, in (0, 1].
        sigma: initial noise scale of the perturbed top-K; decays linearly to 0 over training.
        num_samples: Gaussian samples of the perturbed top-K.
    """
    return {"block": block, "keep": keep, "sigma": sigma, "num_samples": num_samples}


class PerturbedSelection(nn.Layer):
    """Scorer, keep ratio and sigma schedule shared by the temporal and the spatial selection."""

    def __init__(self, embed_dim: int, block: int, keep: float, sigma: float, num_samples: int):
        super().__init__()
        if not 0.0 < keep <= 1.0:
            raise ValueError(f"keep must be in (0, 1], got {keep}")
        if sigma < 0 or num_samples < 1:
            raise ValueError(f"need sigma >= 0 and num_samples >= 1, got {sigma}, {num_samples}")
        self.block, self.keep, self.num_samples = block, float(keep), num_samples
        self.init_sigma = self.sigma = float(sigma)
        self.scorer = TokenScorer(embed_dim)

    def set_progress(self, fraction: float) -> None:
        """Training progress in [0, 1] -> ``sigma = init_sigma * (1 - fraction)`` (STTS's linear decay)."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"training progress must be in [0, 1], got {fraction}")
        self.sigma = self.init_sigma * (1.0 - fraction)

    def soft_indicators(self, scores: paddle.Tensor, k: int) -> paddle.Tensor:
        """``[R, D]`` scores -> perturbed top-``k`` indicators ``[R, k, D]`` at the current sigma."""
        return perturbed_topk(minmax_normalize(scores), k, self.sigma, self.num_samples)

    def extra_repr(self) -> str:
        return f"block={self.block}, keep={self.keep}, sigma={self.sigma:.4g}, num_samples={self.num_samples}"


class TemporalSelection(PerturbedSelection):
    """Keep the ``round(keep * T)`` highest-scoring frames, in their original order."""

    def num_kept(self, num_frames: int) -> int:
        return num_kept_frames(num_frames, self.keep)

    def frame_scores(self, x: paddle.Tensor, num_prefix: int) -> paddle.Tensor:
        """``[B, T, M, C]`` -> ``[B, T]``: mean score of each frame's patch tokens (clip-wide scorer)."""
        t, m, c = x.shape[1], x.shape[2], x.shape[3]
        n = m - num_prefix
        scores = self.scorer(x[:, :, num_prefix:].reshape([-1, t * n, c]))  # [B, T*N]
        return scores.reshape([-1, t, n]).mean(axis=2)  # [B, T]

    def forward(self, x: paddle.Tensor, num_prefix: int) -> paddle.Tensor:
        """``[B, T, M, C]`` -> ``[B, K, M, C]``."""
        t, m, c = x.shape[1], x.shape[2], x.shape[3]
        k = self.num_kept(t)
        scores = self.frame_scores(x, num_prefix)  # [B, T]
        if self.training:
            weights = self.soft_indicators(scores, k)  # [B, K, T]
            return paddle.matmul(weights, x.reshape([-1, t, m * c])).reshape([-1, k, m, c])
        index = hard_topk_indices(scores, k)  # [B, K], ascending
        return paddle.take_along_axis(x, index.reshape([-1, k, 1, 1]), axis=1)  # [B, K, M, C]


class SpatialSelection(PerturbedSelection):
    """Keep one window of patch tokens per frame (or, ``per_clip``, the same window in every frame)."""

    def __init__(self, embed_dim: int, block: int, keep: float, sigma: float, num_samples: int,
                 per_clip: bool):
        super().__init__(embed_dim, block, keep, sigma, num_samples)
        self.per_clip = per_clip

    def window(self, grid: Tuple[int, int]) -> Tuple[int, int]:
        return window_side(grid[0], self.keep), window_side(grid[1], self.keep)

    def window_scores(self, patches: paddle.Tensor, grid: Tuple[int, int]) -> paddle.Tensor:
        """``[B, T, N, C]`` -> mean token score of every window ``[B, R, A]`` (R = 1 with ``per_clip``:
        summed over frames, else R = T)."""
        t, n, c = patches.shape[1], patches.shape[2], patches.shape[3]
        scores = self.scorer(patches.reshape([-1, t * n if self.per_clip else n, c]))  # [B | B*T, T*N | N]
        scores = scores.reshape([-1, t, grid[0], grid[1]])  # [B, T, gh, gw]
        pooled = F.avg_pool2d(scores, self.window(grid), stride=1)  # [B, T, gh-wh+1, gw-ww+1]
        pooled = pooled.reshape([-1, t, pooled.shape[2] * pooled.shape[3]])  # [B, T, A]
        return pooled.sum(axis=1, keepdim=True) if self.per_clip else pooled

    def forward(self, x: paddle.Tensor, num_prefix: int, grid: Tuple[int, int]) -> paddle.Tensor:
        """``[B, T, num_prefix + gh*gw, C]`` -> ``[B, T, num_prefix + wh*ww, C]``."""
        patches = x[:, :, num_prefix:]  # [B, T, N, C]
        if patches.shape[2] != grid[0] * grid[1]:
            raise ValueError(f"{patches.shape[2]} patch tokens do not fill a {grid[0]}x{grid[1]} grid")
        scores = self.window_scores(patches, grid)  # [B, R, A]
        rows, anchors = scores.shape[1], scores.shape[2]
        table = window_table(tuple(grid), self.window(grid))  # [A, P]
        if self.training:
            weights = self.soft_indicators(scores.reshape([-1, anchors]), 1)  # [B*R, 1, A]
            onehots = paddle.to_tensor(window_onehots(tuple(grid), self.window(grid))).astype(x.dtype)
            select = paddle.matmul(weights.reshape([-1, anchors]), onehots)  # [B*R, P*N]
            select = select.reshape([-1, rows, table.shape[1], patches.shape[2]])  # [B, R, P, N]
            kept = paddle.matmul(select, patches)  # [B, T, P, C] (R broadcasts over T)
        else:
            best = paddle.argmax(scores, axis=-1).reshape([-1])  # [B*R]
            index = paddle.gather(paddle.to_tensor(table), best)  # [B*R, P]
            kept = paddle.take_along_axis(patches, index.reshape([-1, rows, table.shape[1], 1]), axis=2)
        return paddle.concat([x[:, :, :num_prefix], kept], axis=2) if num_prefix else kept  # [B, T, M', C]


class TokenSelection(nn.Layer):
    """The token selections of one backbone; with neither ``temporal`` nor ``spatial`` it does nothing
    and has no parameters (a plain backbone's state dict is unchanged).

    Args:
        embed_dim: token width.
        depth: number of blocks (``block`` must be in ``[0, depth)``).
        temporal, spatial: :func:`selection_options` mappings, or None.
        per_clip_window: one spatial window for all frames of a clip (TimeSformer's aligned grid).
    """

    def __init__(self, embed_dim: int, depth: int, temporal: Optional[Dict] = None,
                 spatial: Optional[Dict] = None, per_clip_window: bool = False):
        super().__init__()
        temporal, spatial = (_options(cfg, name, depth) for cfg, name in ((temporal, "temporal"),
                                                                           (spatial, "spatial")))
        self.temporal = TemporalSelection(embed_dim, **temporal) if temporal else None
        self.spatial = SpatialSelection(embed_dim, **spatial, per_clip=per_clip_window) if spatial else None

    def selections(self):
        return [s for s in (self.temporal, self.spatial) if s is not None]

    def selects_before(self, block: int) -> bool:
        return any(s.block == block for s in self.selections())

    def frames_in_block(self, block: int, num_frames: int) -> int:
        """Frames that block ``block`` processes when the clip has ``num_frames``."""
        if self.temporal is not None and self.temporal.block <= block:
            return self.temporal.num_kept(num_frames)
        return num_frames

    def set_progress(self, fraction: float) -> None:
        for selection in self.selections():
            selection.set_progress(fraction)

    def forward(self, x: paddle.Tensor, block: int, num_prefix: int, grid: Tuple[int, int]) -> paddle.Tensor:
        """The selections configured before ``block`` (temporal first): ``[B, T, M, C] -> [B, T', M', C]``."""
        if self.temporal is not None and self.temporal.block == block:
            x = self.temporal(x, num_prefix)
        if self.spatial is not None and self.spatial.block == block:
            x = self.spatial(x, num_prefix, grid)
        return x


def _options(cfg: Optional[Dict], name: str, depth: int) -> Optional[Dict]:
    if cfg is None:
        return None
    if not isinstance(cfg, dict):
        raise ValueError(f"token_selection.{name} must be a mapping like {{block: 0, keep: 0.5}}, got {cfg!r}")
    check_kwargs(selection_options, cfg, f"token_selection.{name}")
    options = selection_options(**cfg)
    if not 0 <= options["block"] < depth:
        raise ValueError(f"token_selection.{name}.block must be in [0, depth={depth}), got {options['block']}")
    return options


def token_selection_keys(temporal: Optional[Dict] = None, spatial: Optional[Dict] = None) -> Dict:
    """The keys of ``MODEL.backbone.token_selection``: ``temporal`` and/or ``spatial``."""
    return {"temporal": temporal, "spatial": spatial}


def build_token_selection(cfg: Optional[Dict], embed_dim: int, depth: int,
                          per_clip_window: bool = False) -> TokenSelection:
    """:class:`TokenSelection` from a backbone's ``token_selection`` argument (None: no selection).

    Raises:
        ConfigError: an unknown key (with the accepted ones) or a value of the wrong type.
        ValueError: a block outside the network, a keep ratio outside (0, 1], a negative sigma.
    """
    cfg = {} if cfg is None else cfg
    if not isinstance(cfg, dict):
        raise ValueError(f"token_selection must be a mapping with 'temporal' and/or 'spatial', got {cfg!r}")
    check_kwargs(token_selection_keys, cfg, "token_selection")
    return TokenSelection(embed_dim, depth, per_clip_window=per_clip_window, **token_selection_keys(**cfg))


def set_training_progress(model: nn.Layer, fraction: float) -> None:
    """Tell every token selection in ``model`` how far training is (``fraction`` in [0, 1])."""
    for layer in model.sublayers(include_self=True):
        if isinstance(layer, TokenSelection):
            layer.set_progress(fraction)
