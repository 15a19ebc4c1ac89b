"""Open a folder of extracted frames as a frame reader that loads only the frames asked for.

Why a reader rather than loading the folder: a raw-frame folder holds every frame of the video
as an image file, and a TokShift clip uses 8 of them; ``Sampler`` asks the reader for exactly
the chosen indices, so only those files are read. The reader follows the contract in
``decode.py`` (``len(reader)``, ``reader.read(indices)`` -> uint8 RGB ``[K, H, W, 3]``), so the
same ``Sampler`` and transforms serve videos and frame folders.

Frame index ``i`` (0-based, as the sampler counts) is the file ``suffix.format(i + 1)``:
extraction tools number frames from 1 (``img_00001.jpg``), as PaddleVideo's raw-frame lists do.
"""
import os
from typing import Any, Dict, List

import cv2
import numpy as np

from paddlevideo.loader.errors import DecodeError
from paddlevideo.registry import PIPELINES

from .compose import require_keys
from .decode import read_unique, stack_frames


class RawFrameReader:
    """The frames of ``frame_dir``, named ``template.format(i + 1)``; files are read in ``read``.

    Args:
        frame_dir: the folder holding the frame images.
        frames_len: the number of frames the list file gives for it (not checked against the
            folder, whose listing can be slow on large datasets).
        template: the file name template, e.g. ``'img_{:05}.jpg'``.

    Raises:
        DecodeError: ``frame_dir`` is not a folder (at construction).
    """

    def __init__(self, frame_dir: str, frames_len: int, template: str):
        if not os.path.isdir(frame_dir):
            raise DecodeError(frame_dir, "the frame folder does not exist")
        self.frame_dir = frame_dir
        self.frames_len = frames_len
        self.template = template

    def __len__(self) -> int:
        return self.frames_len

    def frame_path(self, index: int) -> str:
        """The file of 0-based frame ``index``."""
        return os.path.join(self.frame_dir, self.template.format(index + 1))

    def read_frame(self, index: int) -> np.ndarray:
        """uint8 RGB [H, W, 3] of frame ``index``; DecodeError naming the frame and file if absent
        or unreadable."""
        path = self.frame_path(index)
        # IMREAD_COLOR always yields 3-channel BGR: grey images are expanded, alpha is dropped.
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            problem = "is unreadable" if os.path.isfile(path) else "does not exist"
            raise DecodeError(self.frame_dir, f"frame {index} (file '{path}') {problem}; the list "
                                              f"gives {self.frames_len} frames")
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

    def _read_sorted(self, unique: List[int]) -> np.ndarray:
        return stack_frames(self.frame_dir, unique, [self.read_frame(i) for i in unique])

    def read(self, indices: np.ndarray) -> np.ndarray:
        """uint8 RGB frames [K, H, W, 3] for ``indices``; each distinct file is read once."""
        return read_unique(self._read_sorted, np.asarray(indices), self.frame_dir)


@PIPELINES.register()
class FrameDecoder:
    """Opens ``results['frame_dir']`` as a frame reader (no image read yet); PaddleVideo's name.

    Requires: ``frame_dir``, ``frames_len`` and ``suffix`` (the file name template), as
    ``FrameDataset`` provides them, and ``filename`` (used by ``Sampler`` in messages).
    Adds: ``reader`` (see ``decode.py``; consumed and removed by ``Sampler``).
    Changes: ``frames_len`` becomes a Python int (the list's count; the reader trusts it, and
    ``Sampler`` falls back to a shorter prefix if later frames are missing).

    Raises:
        DecodeError: the folder is missing or the list gives no frames (at call time); a missing
            or unreadable frame file is reported when ``Sampler`` reads it.
    """

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("frame_dir", "frames_len", "suffix", "filename"), "FrameDecoder")
        frame_dir, frames_len = results["frame_dir"], int(results["frames_len"])
        if frames_len < 1:
            raise DecodeError(frame_dir, f"the list gives {frames_len} frames")
        results["reader"] = RawFrameReader(frame_dir, frames_len, results["suffix"])
        results["frames_len"] = frames_len
        return results
