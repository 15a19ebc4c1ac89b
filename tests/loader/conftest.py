"""Fixtures writing tiny videos whose frames say which frame they are.

Frame ``i`` is filled with the flat value ``10 * i``; flat frames survive MJPG compression to
within a few grey levels, so sampled frame numbers can be recovered from decoded pixels.
``make_video`` writes with ``cv2.VideoWriter``; ``make_avi`` writes the AVI bytes itself, for the
files a writer will not make (odd sizes, greyscale JPEGs, a lying header, corrupt frames).
"""
import struct
from pathlib import Path
from typing import Callable, List, Optional

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


# ------------------------------------------------- hand-written AVI files (see test_broken_videos)

def _chunk(fourcc: bytes, data: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def _list(kind: bytes, *parts: bytes) -> bytes:
    return _chunk(b"LIST", kind + b"".join(parts))


def write_mjpg_avi(path: Path, jpegs: List[bytes], width: int, height: int,
                   header_frames: Optional[int] = None, fps: int = 25) -> Path:
    """Write an MJPG .avi byte by byte: RIFF header, one video stream, ``00dc`` chunks, ``idx1``.

    Why by hand: ``cv2.VideoWriter`` rounds sizes down to even numbers and always writes colour
    frames and a truthful frame count; this stores any JPEG bytes (odd sizes, greyscale, garbage)
    and writes ``header_frames`` (default: the real count) into the AVI and stream headers.
    """
    claimed = len(jpegs) if header_frames is None else header_frames
    avih = struct.pack("<14I", 1000000 // fps, 0, 0, 0x10, claimed, 0, 1, 0, width, height,
                       0, 0, 0, 0)  # 0x10: AVIF_HASINDEX
    strh = b"vidsMJPG" + struct.pack("<IHHIIIIIIIIhhhh", 0, 0, 0, 0, 1, fps, 0, claimed, 0,
                                     0xFFFFFFFF, 0, 0, 0, width, height)
    strf = struct.pack("<IiiHH4sIiiII", 40, width, height, 1, 24, b"MJPG", width * height * 3,
                       0, 0, 0, 0)
    hdrl = _list(b"hdrl", _chunk(b"avih", avih),
                 _list(b"strl", _chunk(b"strh", strh), _chunk(b"strf", strf)))
    chunks, index, offset = [], [], 4  # idx1 offsets count from the 'movi' fourcc
    for data in jpegs:
        chunks.append(_chunk(b"00dc", data))
        index.append(struct.pack("<4sIII", b"00dc", 0x10, offset, len(data)))  # keyframe
        offset += len(chunks[-1])
    body = b"AVI " + hdrl + _list(b"movi", *chunks) + _chunk(b"idx1", b"".join(index))
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def flat_jpeg(index: int, width: int, height: int, grey: bool = False) -> bytes:
    """JPEG bytes of frame ``index`` as ``write_video`` draws it (flat value 10*index)."""
    shape = (height, width) if grey else (height, width, 3)
    ok, data = cv2.imencode(".jpg", np.full(shape, FRAME_STEP * index, dtype=np.uint8))
    assert ok
    return data.tobytes()


@pytest.fixture
def make_avi(tmp_path: Path) -> Callable[..., Path]:
    """Factory ``make_avi(name, num_frames=20, width=40, height=32, grey=False,
    header_frames=None, corrupt_from=None) -> path``: a hand-written MJPG .avi of flat frames
    (frame i = 10*i). Frames from ``corrupt_from`` on keep their chunk but hold garbage, so the
    container is intact and lists every frame while only the first ``corrupt_from`` decode."""

    def make(name: str = "hand.avi", num_frames: int = 20, width: int = 40, height: int = 32,
             grey: bool = False, header_frames: Optional[int] = None,
             corrupt_from: Optional[int] = None) -> Path:
        jpegs = [flat_jpeg(i, width, height, grey) for i in range(num_frames)]
        if corrupt_from is not None:
            jpegs[corrupt_from:] = [b"\xff\xd8" + b"garbage!" * 24] * (num_frames - corrupt_from)
        return write_mjpg_avi(tmp_path / name, jpegs, width, height, header_frames)

    return make


@pytest.fixture
def randint_max(monkeypatch):
    """Make np.random.randint return its largest allowed value and record the (low, high) asked."""
    calls = []

    def fake(low, high=None, size=None):
        calls.append((low, high))
        return np.full(size, high - 1) if size is not None else high - 1

    monkeypatch.setattr(np.random, "randint", fake)
    return calls


def _position_clip(n=4, h=10, w=12):
    """uint8 [n, h, w, 3]: channel 0 = row, channel 1 = column, channel 2 = frame number."""
    imgs = np.empty((n, h, w, 3), dtype=np.uint8)
    imgs[..., 0] = np.arange(h)[None, :, None]
    imgs[..., 1] = np.arange(w)[None, None, :]
    imgs[..., 2] = np.arange(n)[:, None, None]
    return imgs


@pytest.fixture
def position_clip() -> Callable[..., np.ndarray]:
    """``position_clip(n, h, w)``: a clip whose pixels say where they came from (row, column, frame)."""
    return _position_clip
