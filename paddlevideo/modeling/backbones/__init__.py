from .timesformer import VisionTransformer
from .token_shift_vit import TokenShiftVisionTransformer

__all__ = ["TokenShiftVisionTransformer", "VisionTransformer"]
