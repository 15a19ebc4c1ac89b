"""PaddleVideo's ``UniformCrop``: the 3-crop test of TimeSformer (its K400 77.29 top-1 protocol).

Why a separate op from ``ThreeCrop``: configs written for PaddleVideo's TimeSformer name it, and its
offsets and view order are PaddleVideo's own: along the side longer than the crop, views at offsets
``0``, ``2 * step`` and ``step`` with ``step = (side - target_size) // 2`` (left, right, centre), so the
"right" view ends one pixel short of the border when ``side - target_size`` is odd. The official
TimeSformer (``uniform_crop`` in its ``datasets/transform.py``) puts the centre view at
``ceil((side - target_size) / 2)`` and the last one at ``side - target_size``; averaged over views the
two differ by at most a pixel of position.
"""
from typing import List, Tuple

from paddlevideo.registry import PIPELINES

from .augmentations import SquareCrops


def uniform_crop_offsets(h: int, w: int, t: int) -> List[Tuple[int, int]]:
    """(y, x) of PaddleVideo's three ``t`` x ``t`` views of an ``h`` x ``w`` frame.

    The frame must already have one side equal to ``t`` (``Scale`` to ``short_size: t`` first): the
    views slide along the other side (width first when both equal ``t``).

    Raises:
        ValueError: neither side equals ``t``, or the other side is shorter than ``t``.
    """
    if h == t and w >= t:
        step = (w - t) // 2
        return [(0, 0), (0, 2 * step), (0, step)]
    if w == t and h >= t:
        step = (h - t) // 2
        return [(0, 0), (2 * step, 0), (step, 0)]
    raise ValueError(f"UniformCrop: frames are {h}x{w} (HxW); one side must equal target_size {t} and the "
                     f"other be at least as long: put Scale {{short_size: {t}}} before it")


@PIPELINES.register()
class UniformCrop(SquareCrops):
    """3-view test crop: three ``target_size`` squares at the two ends and the middle of the long side.

    Views are concatenated on the frame axis, view-major: rows ``v*N .. (v+1)*N - 1`` hold view ``v``
    (left/top, right/bottom, centre) of all N input frames, so each consecutive block of ``num_seg``
    frames is one view, as the recognizer expects (``INFERENCE.views: 3`` for one clip).

    Requires / changes: ``imgs`` uint8 [N, H, W, C] with min(H, W) == target_size ->
    [3*N, target_size, target_size, C].

    Args:
        target_size: side of each square view, in pixels.

    Raises:
        ValueError: the frames were not scaled so that one side equals ``target_size`` (call time).
    """

    VIEW_FACTOR = 3

    def offsets(self, h: int, w: int) -> List[Tuple[int, int]]:
        return uniform_crop_offsets(h, w, self.target_size)
