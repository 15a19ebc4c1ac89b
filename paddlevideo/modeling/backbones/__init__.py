from .token_shift_vit import TokenShiftVisionTransformer

__all__ = ["TokenShiftVisionTransformer"]
