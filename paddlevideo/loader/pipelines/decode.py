"""Open a video without decoding it, so that the sampler decodes only the frames it picks.

Why lazily: UCF101/Kinetics clips hold hundreds of frames but a TokShift clip uses 8; decoding
the whole file per sample wastes most of the data-loading time and RAM. ``decord.VideoReader``
only parses the container here; ``Sampler`` later calls ``get_batch`` on the chosen indices.
"""
from typing import Any, Dict

import decord

from paddlevideo.loader.errors import DecodeError
from paddlevideo.registry import PIPELINES

from .compose import require_keys

_BACKENDS = ("decord",)

# decord raises DECORDError for codec/filter failures and RuntimeError for unopenable files.
DECORD_ERRORS = (decord.DECORDError, RuntimeError, OSError)


def open_reader(path: str) -> "decord.VideoReader":
    """A one-thread ``decord.VideoReader`` for ``path``; DecodeError (with the path) if it cannot open."""
    try:
        return decord.VideoReader(path, num_threads=1)
    except DECORD_ERRORS as err:
        raise DecodeError(path, f"decord could not open it ({type(err).__name__}: "
                                f"{str(err).strip()[:300]})") from err


@PIPELINES.register()
class VideoDecoder:
    """Opens ``results['filename']`` with decord (one decoding thread, nothing decoded yet).

    One thread because the DataLoader already runs several workers per core; decord's default
    (``num_threads=0``) starts one decoder thread per CPU in every worker.

    Requires: ``filename``.
    Adds: ``reader`` (a ``decord.VideoReader``, consumed and removed by ``Sampler``) and
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
        reader = open_reader(path)
        frames_len = len(reader)
        if frames_len < 1:
            raise DecodeError(path, "the container reports 0 frames")
        results["reader"] = reader
        results["frames_len"] = frames_len
        return results
