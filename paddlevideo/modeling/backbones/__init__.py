from .timesformer import VisionTransformer
from .token_shift_vit import TokenShiftVisionTransformer
from .video_vit import VideoVisionTransformer

__all__ = ["TokenShiftVisionTransformer", "VideoVisionTransformer", "VisionTransformer"]
