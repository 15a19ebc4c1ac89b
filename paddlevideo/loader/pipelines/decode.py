"""Open a video without decoding it, so that the sampler decodes only the frames it picks.

Why lazily: UCF101/Kinetics clips hold hundreds of frames but a TokShift clip uses 8; decoding
the whole file per sample wastes most of the data-loading time and RAM. Opening only parses the
container; ``Sampler`` later asks the reader for exactly the chosen frame indices.

The reader contract (shared by every source of frames -- video files, raw-frame folders):
``len(reader)`` is the number of frames the source claims to have, and
``reader.read(indices)`` returns uint8 RGB frames ``[K, H, W, 3]`` in the order of ``indices``
(repeats allowed) or raises ``DecodeError`` naming the file.
"""
from typing import Any, Dict

import decord
import numpy as np

from paddlevideo.loader.errors import DecodeError
from paddlevideo.registry import PIPELINES

from .compose import require_keys

_BACKENDS = ("decord",)

# decord raises DECORDError for codec/filter failures and RuntimeError for unopenable files.
DECORD_ERRORS = (decord.DECORDError, RuntimeError, OSError)


def read_unique(read_sorted, indices: np.ndarray, path: str) -> np.ndarray:
    """Read each distinct frame once, in increasing order, then restore the requested order.

    Args:
        read_sorted: ``f(sorted unique list of int) -> uint8 [U, H, W, 3]``.
        indices: int array [K] of frame numbers (any order, repeats allowed).
        path: the source, for error messages.

    Returns:
        uint8 array [K, H, W, 3].

    Raises:
        DecodeError: ``read_sorted`` returned the wrong number of frames.
    """
    unique, inverse = np.unique(indices, return_inverse=True)
    frames = read_sorted(unique.tolist())
    if frames.ndim != 4 or frames.shape[0] != unique.size:
        raise DecodeError(path, f"reading frames {unique.tolist()} returned shape {frames.shape}")
    if unique.size == indices.size and np.array_equal(unique, indices):
        return frames
    return frames[inverse.reshape(-1)]


class DecordVideoReader:
    """A video file read with one-thread decord; frames are decoded only in ``read``.

    One thread because the DataLoader already runs several workers per core; decord's default
    (``num_threads=0``) starts one decoder thread per CPU in every worker. decord's decoder can
    stay broken after a failed read, so the next ``read`` after a failure reopens the file.

    Raises:
        DecodeError: the file cannot be opened (at construction).
    """

    def __init__(self, path: str):
        self.path = path
        self._reader = self._open()

    def _open(self) -> "decord.VideoReader":
        try:
            return decord.VideoReader(self.path, num_threads=1)
        except DECORD_ERRORS as err:
            raise DecodeError(self.path, f"decord could not open it ({type(err).__name__}: "
                                         f"{str(err).strip()[:300]})") from err

    def __len__(self) -> int:
        return len(self._reader)

    def _get_batch(self, unique):
        if self._reader is None:
            self._reader = self._open()
        try:
            return self._reader.get_batch(unique).asnumpy()
        except (*DECORD_ERRORS, IndexError) as err:
            self._reader = None
            raise DecodeError(self.path, f"reading frames {unique} failed ({type(err).__name__}: "
                                         f"{str(err).strip()[:300]}); the header frame count may "
                                         f"exceed the decodable frames") from err

    def read(self, indices: np.ndarray) -> np.ndarray:
        """uint8 RGB frames [K, H, W, 3] for ``indices``; DecodeError if any cannot be decoded."""
        return read_unique(self._get_batch, np.asarray(indices), self.path)


def open_video(path: str) -> DecordVideoReader:
    """A reader for the video file ``path``; DecodeError (with the path) if it cannot be opened."""
    return DecordVideoReader(path)


@PIPELINES.register()
class VideoDecoder:
    """Opens ``results['filename']`` as a frame reader (nothing decoded yet).

    Requires: ``filename``.
    Adds: ``reader`` (see the module docstring; consumed and removed by ``Sampler``) and
    ``frames_len`` (the container's frame count, which may exceed what actually decodes).

    Args:
        backend: only ``'decord'`` is supported.

    Raises:
        ValueError: unsupported backend (at construction).
        DecodeError: the file is missing, unreadable or reports no frames (at call time).
    """

    def __init__(self, backend: str = "decord"):
        if backend not in _BACKENDS:
            raise ValueError(f"VideoDecoder: backend must be one of {list(_BACKENDS)}, "
                             f"got {backend!r}")
        self.backend = backend

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("filename",), "VideoDecoder")
        path = results["filename"]
        reader = open_video(path)
        frames_len = len(reader)
        if frames_len < 1:
            raise DecodeError(path, "the container reports 0 frames")
        results["reader"] = reader
        results["frames_len"] = frames_len
        return results
