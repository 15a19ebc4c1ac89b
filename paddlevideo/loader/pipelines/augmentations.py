"""Spatial ops on a clip: resizing, cropping and flipping.

Why clip-level ops: a clip's frames must stay geometrically aligned (the model shifts tokens
between frames), so every random choice -- scale, crop position, flip -- is drawn once per call
with ``np.random`` and applied to all frames. All ops take and return ``results['imgs']`` as uint8
[N, H, W, 3]; they stay in uint8 so that resizing and cropping are cheap and normalisation
happens afterwards on the smaller array.

Every op here is marked ``GEOMETRIC``: it only moves, selects or bilinearly blends pixels, so a
per-pixel normalisation commutes with it, and ``Compose`` may run PaddleVideo's
``Normalization``/``Image2Array``, listed before these ops, after them instead (see
``compose.format_steps_last``). Ops that multiply the views of a clip say by how much in
``VIEW_FACTOR`` (used to count a test pipeline's views).
"""
from typing import Any, Dict, List, Tuple

import cv2
import numpy as np

from paddlevideo.registry import PIPELINES

from .compose import check_positive_int, require_keys


def _imgs(results: Dict[str, Any], op: str) -> np.ndarray:
    """``results['imgs']`` checked to be a [N, H, W, C] array."""
    require_keys(results, ("imgs",), op)
    imgs = results["imgs"]
    if not isinstance(imgs, np.ndarray) or imgs.ndim != 4:
        raise ValueError(f"{op}: imgs must be a [N, H, W, C] numpy array, got "
                         f"{getattr(imgs, 'shape', type(imgs))}")
    return imgs


def resize_clip(imgs: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Bilinear resize of every frame; returns ``imgs`` itself when already [N, out_h, out_w, C]."""
    if imgs.shape[1:3] == (out_h, out_w):
        return imgs
    return np.stack([cv2.resize(frame, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
                     for frame in imgs])


def short_side_shape(h: int, w: int, short_size: int) -> Tuple[int, int]:
    """(out_h, out_w) with the short side equal to ``short_size`` and the aspect ratio kept."""
    if h <= w:
        return short_size, max(1, int(w * short_size / h + 0.5))
    return max(1, int(h * short_size / w + 0.5)), short_size


def _check_fits(imgs: np.ndarray, target_size: int, op: str) -> Tuple[int, int]:
    """(H, W) of the frames, or a ValueError if either side is smaller than ``target_size``."""
    h, w = imgs.shape[1:3]
    if h < target_size or w < target_size:
        raise ValueError(f"{op}: frames are {h}x{w} (HxW), smaller than target_size {target_size}; "
                         f"scale them up first")
    return h, w


class SquareCrops:
    """What every crop op shares: ``target_size`` squares at the ``(y, x)`` of ``offsets(h, w)``, the
    same position in every frame, views concatenated on the frame axis, view-major (rows
    ``v*N .. (v+1)*N - 1`` hold view ``v`` of all N input frames).

    Requires / changes: ``imgs`` [N, H, W, C] -> [V*N, target_size, target_size, C] for V views.

    Raises:
        ValueError: a frame side is smaller than ``target_size`` (at call time).
    """

    GEOMETRIC = True

    def __init__(self, target_size: int):
        check_positive_int(target_size, "target_size", type(self).__name__)
        self.target_size = target_size

    def offsets(self, h: int, w: int) -> List[Tuple[int, int]]:
        """(y, x) of each view's top-left corner in an ``h`` x ``w`` frame."""
        raise NotImplementedError

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        op = type(self).__name__
        imgs = _imgs(results, op)
        h, w = _check_fits(imgs, self.target_size, op)
        t = self.target_size
        views = [imgs[:, y:y + t, x:x + t] for y, x in self.offsets(h, w)]
        results["imgs"] = views[0] if len(views) == 1 else np.concatenate(views, axis=0)
        return results


@PIPELINES.register()
class Scale:
    """Resizes all frames so that the short side equals ``short_size`` (bilinear, uint8 kept).

    Requires / changes: ``imgs`` [N, H, W, C] -> [N, H', W', C] with min(H', W') == short_size, or
    [N, short_size, short_size, C] when ``keep_ratio`` is False. Frames already at the target
    size are passed through untouched.

    Args:
        short_size: target length of the short side, in pixels.
        keep_ratio: keep the aspect ratio; if False, resize to a square.
    """

    GEOMETRIC = True

    def __init__(self, short_size: int, keep_ratio: bool = True):
        check_positive_int(short_size, "short_size", "Scale")
        self.short_size = short_size
        self.keep_ratio = bool(keep_ratio)

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        imgs = _imgs(results, "Scale")
        h, w = imgs.shape[1:3]
        if self.keep_ratio:
            out_h, out_w = short_side_shape(h, w, self.short_size)
        else:
            out_h, out_w = self.short_size, self.short_size
        results["imgs"] = resize_clip(imgs, out_h, out_w)
        return results


@PIPELINES.register()
class JitterScale:
    """Scale jittering: resizes the short side to a random size in [min_size, max_size].

    One size is drawn per call (``np.random.randint``, both ends inclusive) and used for every
    frame; the aspect ratio is kept.

    Requires / changes: ``imgs`` [N, H, W, C] -> [N, H', W', C] with min(H', W') == drawn size.

    Args:
        min_size: smallest short side, in pixels.
        max_size: largest short side, in pixels (>= min_size).
    """

    GEOMETRIC = True

    def __init__(self, min_size: int, max_size: int):
        check_positive_int(min_size, "min_size", "JitterScale")
        check_positive_int(max_size, "max_size", "JitterScale")
        if max_size < min_size:
            raise ValueError(f"JitterScale: max_size {max_size} < min_size {min_size}")
        self.min_size = min_size
        self.max_size = max_size

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        imgs = _imgs(results, "JitterScale")
        size = int(np.random.randint(self.min_size, self.max_size + 1))
        out_h, out_w = short_side_shape(imgs.shape[1], imgs.shape[2], size)
        results["imgs"] = resize_clip(imgs, out_h, out_w)
        return results


@PIPELINES.register()
class RandomCrop(SquareCrops):
    """Crops one random ``target_size`` square, at the same position in every frame.

    A side equal to ``target_size`` gives offset 0 on that axis (PaddleVideo's version crashed
    there with ``np.random.randint(0, 0)``). See ``SquareCrops`` for shapes and errors.

    Args:
        target_size: side of the square crop, in pixels.
    """

    def offsets(self, h: int, w: int) -> List[Tuple[int, int]]:
        t = self.target_size
        return [(int(np.random.randint(0, h - t + 1)), int(np.random.randint(0, w - t + 1)))]


@PIPELINES.register()
class CenterCrop(SquareCrops):
    """Crops the central ``target_size`` square of every frame (offsets ``(side - t) // 2``).

    Args:
        target_size: side of the square crop, in pixels.
    """

    def offsets(self, h: int, w: int) -> List[Tuple[int, int]]:
        return [((h - self.target_size) // 2, (w - self.target_size) // 2)]


THREE_CROP_ALONG = ("long_side", "width")


def three_crop_offsets(h: int, w: int, t: int, along: str = "long_side") -> List[Tuple[int, int]]:
    """(y, x) of the 3 views of a ``t`` x ``t`` crop from an ``h`` x ``w`` frame.

    ``along="long_side"``: left/centre/right for landscape and square frames (w >= h), else
    top/centre/bottom; the views slide along the long side and are centred on the short side.
    ``along="width"``: always left/centre/right, vertically centred, as the official TokShift
    ``Test_ClipAug`` (``clip_crop`` types 1 and 2 plus ``clip_center_crop``); on a portrait frame
    scaled to short side ``t`` the three views are then the same centre crop.
    Centre offsets round down (``(side - t) // 2``), as the official ``int((side - t) / 2.0)``.
    """
    centre_y, centre_x = (h - t) // 2, (w - t) // 2
    if along == "width" or w >= h:
        return [(centre_y, x) for x in (0, centre_x, w - t)]
    return [(y, centre_x) for y in (0, centre_y, h - t)]


@PIPELINES.register()
class ThreeCrop(SquareCrops):
    """3-view test crop: three ``target_size`` squares, left/centre/right (or top/centre/bottom).

    Where the views sit is set by ``along`` (see ``three_crop_offsets``). They are concatenated on
    the frame axis, crop-major: rows ``v*N .. (v+1)*N - 1`` hold view ``v`` of all N input frames.
    With clip-major ``Sampler`` output each consecutive block of ``num_seg`` frames is therefore
    one (view, clip) pair.

    Requires / changes: ``imgs`` [N, H, W, C] -> [3*N, target_size, target_size, C].

    Args:
        target_size: side of each square view, in pixels.
        along: ``"long_side"`` (default) slides the views along the long side, so portrait
            videos get top/centre/bottom views; ``"width"`` always slides them horizontally, as
            the official TokShift test code does (portrait videos then get three centre crops).

    Raises:
        ValueError: an unknown ``along`` (at construction); a frame side smaller than
            ``target_size`` (at call time).
    """

    VIEW_FACTOR = 3

    def __init__(self, target_size: int, along: str = "long_side"):
        super().__init__(target_size)
        if along not in THREE_CROP_ALONG:
            raise ValueError(f"ThreeCrop: along must be one of {list(THREE_CROP_ALONG)}, "
                             f"got {along!r}")
        self.along = along

    def offsets(self, h: int, w: int) -> List[Tuple[int, int]]:
        return three_crop_offsets(h, w, self.target_size, self.along)


@PIPELINES.register()
class FlipViews:
    """Test-time flip views: appends a horizontally flipped copy of every frame.

    The official TokShift ``VAL_FLIP`` option scores each clip a second time, mirrored. Put this
    op after ``Scale`` and before ``ThreeCrop``/``CenterCrop``: the official code flips the whole
    frame and then crops, and cropping after the flip is what keeps the mirrored centre view
    exact when ``W - target_size`` is odd (flipping the crops instead would shift it by one
    pixel). Each crop then holds the original views followed by their mirrors, so every
    ``num_seg`` block is still one view and the number of views doubles.

    Requires / changes: ``imgs`` [N, H, W, C] -> [2*N, H, W, C]; rows ``N .. 2N-1`` are rows
    ``0 .. N-1`` flipped left-right.
    """

    GEOMETRIC = True
    VIEW_FACTOR = 2

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        imgs = _imgs(results, "FlipViews")
        results["imgs"] = np.concatenate([imgs, imgs[:, :, ::-1]], axis=0)
        return results


@PIPELINES.register()
class RandomFlip:
    """Flips all frames horizontally together with probability ``p`` (one draw per call).

    Requires / changes: ``imgs`` [N, H, W, C] (same shape, contiguous copy when flipped).

    Args:
        p: flip probability in [0, 1].
    """

    GEOMETRIC = True

    def __init__(self, p: float = 0.5):
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomFlip: p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        imgs = _imgs(results, "RandomFlip")
        if np.random.rand() < self.p:
            results["imgs"] = np.ascontiguousarray(imgs[:, :, ::-1])
        return results


@PIPELINES.register()
class MultiCenterCrop(SquareCrops):
    """PaddleVideo's 3-view test crop: centre, left and right ``target_size`` squares, in that order.

    All three are vertically centred (``y = (H - t) // 2``); the centre view starts at
    ``x = (W - t) // 2``, the left one at 0 and the right one at ``W - t`` -- the views of
    ``ThreeCrop(along="width")`` in PaddleVideo's order, centre first. They are concatenated on the
    frame axis, view-major as in ``ThreeCrop``. (PaddleVideo crops these three views with its
    ``pyav`` backend, the one its TokShift config uses; with its other backends its version took
    one random crop instead. Here it is always the three views.)

    Requires / changes: ``imgs`` [N, H, W, C] -> [3*N, target_size, target_size, C].

    Args:
        target_size: side of each square view, in pixels.
    """

    VIEW_FACTOR = 3

    def offsets(self, h: int, w: int) -> List[Tuple[int, int]]:
        left, centre, right = three_crop_offsets(h, w, self.target_size, along="width")
        return [centre, left, right]
