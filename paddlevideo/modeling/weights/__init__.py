"""Reading pretrained and foreign checkpoints: format detection and conversion to Paddle names.

Converters are pure functions ``state -> state`` on numpy arrays (no framework needed to convert).
"""
from .formats import Weights, backbone_state, read_weights, summarize
from .pretrained import load_pretrained_backbone

__all__ = ["Weights", "backbone_state", "load_pretrained_backbone", "read_weights", "summarize"]
