"""Fixtures writing tiny videos whose frames say which frame they are.

Frame ``i`` is filled with the flat value ``10 * i``; flat frames survive MJPG compression to
within a few grey levels, so sampled frame numbers can be recovered from decoded pixels.
"""
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import pytest

FRAME_STEP = 10


def write_video(path: Path, num_frames: int = 20, width: int = 40, height: int = 32) -> Path:
    """Write an MJPG .avi of ``num_frames`` flat frames (frame i has value 10*i)."""
    assert FRAME_STEP * (num_frames - 1) <= 255, "frame values must fit in uint8"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (width, height))
    assert writer.isOpened(), f"cv2 cannot write {path}"
    for i in range(num_frames):
        writer.write(np.full((height, width, 3), FRAME_STEP * i, dtype=np.uint8))
    writer.release()
    return path


@pytest.fixture
def make_video(tmp_path: Path) -> Callable[..., Path]:
    """Factory ``make_video(name, num_frames=20, width=40, height=32) -> path`` in tmp_path."""

    def make(name: str = "clip.avi", num_frames: int = 20, width: int = 40,
             height: int = 32) -> Path:
        return write_video(tmp_path / name, num_frames, width, height)

    return make


@pytest.fixture
def make_broken_video(tmp_path: Path) -> Callable[[str], Path]:
    """Factory writing an .avi file of garbage bytes that no decoder can open."""

    def make(name: str = "broken.avi") -> Path:
        path = tmp_path / name
        path.write_bytes(b"this is not a video" * 64)
        return path

    return make


@pytest.fixture
def frame_ids() -> Callable[[np.ndarray], np.ndarray]:
    """Recover frame numbers from decoded uint8 [N, H, W, 3] frames of ``write_video``."""

    def decode(imgs: np.ndarray) -> np.ndarray:
        means = imgs.reshape(imgs.shape[0], -1).astype(np.float64).mean(axis=1)
        return np.rint(means / FRAME_STEP).astype(np.int64)

    return decode
