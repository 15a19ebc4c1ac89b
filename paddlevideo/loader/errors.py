"""Errors raised while turning a video file into frames (defined in ``paddlevideo/errors.py``)."""
from ..errors import DataError, DecodeError

__all__ = ["DataError", "DecodeError"]
