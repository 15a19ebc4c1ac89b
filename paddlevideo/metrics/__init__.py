"""Evaluation metrics."""
from typing import Dict

from ..registry import METRICS, build
from .center_crop_metric import CenterCropMetric


def build_metric(cfg: Dict):
    return build(cfg, METRICS)


__all__ = ["CenterCropMetric", "build_metric"]
