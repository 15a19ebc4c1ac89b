from .token_shift_head import TokenShiftHead

__all__ = ["TokenShiftHead"]
