"""Errors raised while turning a video file into frames.

Why a dedicated type: the training dataset must recover from unreadable videos (skip and count
them) without also swallowing programming errors, so decode failures get one narrow exception
class that the dataset can catch and nothing else raises.
"""
from typing import Optional


class DecodeError(RuntimeError):
    """A video that cannot be opened or whose sampled frames cannot be decoded.

    Args:
        path: the video file.
        reason: what went wrong (the backend's message, the indices that failed, ...).

    Both are kept as ``args`` so the exception survives pickling between processes.
    """

    def __init__(self, path: str, reason: Optional[str] = None):
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        # Paddle's DataLoader re-creates a worker's exception from its message alone.
        if self.reason is None:
            return self.path
        return f"cannot decode video '{self.path}': {self.reason}"


class DataError(RuntimeError):
    """The data is broken beyond what a run should absorb (e.g. too many undecodable videos)."""
