"""The errors a user is shown as one ``error:`` line (see ``utils/cli.py``), in one Paddle-free module.

Why one module: every entry point catches exactly these, and light tools can import them without
pulling in Paddle, decord or OpenCV.
"""
from typing import Optional


class ConfigError(ValueError):
    """A config, list file or checkpoint that cannot be used, with a message saying where and why."""


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


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. a non-finite loss); the message says where and what is left."""


class OutputDirError(TrainingError):
    """``output_dir`` cannot take this run's files: it is full, read-only, or another run holds it.

    A :class:`TrainingError`, so every entry point already reports it as one ``error:`` line.
    """
