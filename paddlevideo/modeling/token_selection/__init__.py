"""Spatial-temporal token selection (STTS) shared by the TokShift and TimeSformer backbones."""
from .scorer import TokenScorer
from .selection import (
    SpatialSelection,
    TemporalSelection,
    TokenSelection,
    build_token_selection,
    num_kept_frames,
    set_training_progress,
    window_side,
    window_table,
)
from .topk import hard_topk_indicators, hard_topk_indices, minmax_normalize, perturbed_topk

__all__ = ["TokenScorer", "SpatialSelection", "TemporalSelection", "TokenSelection", "build_token_selection",
           "num_kept_frames", "set_training_progress", "window_side", "window_table", "hard_topk_indicators",
           "hard_topk_indices", "minmax_normalize", "perturbed_topk"]
