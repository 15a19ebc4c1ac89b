from .timesformer_head import TimeSformerHead
from .token_shift_head import TokenShiftHead

__all__ = ["TimeSformerHead", "TokenShiftHead"]
