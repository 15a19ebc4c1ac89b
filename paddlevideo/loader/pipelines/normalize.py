"""Convert the final uint8 clip into the float32 tensor layout the model consumes.

Why separate from the spatial ops: these are the only ops that leave uint8, and they must run
last (after resizing/cropping shrank the clip) so the float conversion touches as few pixels as
possible and never goes through float64. Both are marked ``FORMAT_STEP`` (1 = Normalization,
2 = Image2Array, the order they run in): PaddleVideo lists them before its resize/crop ops, and
``Compose`` then runs them last (see ``compose.format_steps_last``).
"""
from typing import Any, Dict, List, Optional

import numpy as np

from paddlevideo.registry import PIPELINES

from .compose import require_keys

_LAYOUTS = {"cthw": (3, 0, 1, 2), "tchw": (0, 3, 1, 2)}
# Where the channels are, counted from the right, in the clip before Image2Array ("nhwc") and
# after it; and the PaddleVideo ``tensor_shape`` that broadcasts mean/std over that axis.
CHANNEL_AXIS = {"nhwc": -1, "tchw": -3, "cthw": -4}
TENSOR_SHAPES = {"nhwc": [1, 1, 1, 3], "tchw": [3, 1, 1], "cthw": [3, 1, 1, 1]}


def _channel_axis(tensor_shape: Any) -> int:
    """The axis (negative, from the right) a PaddleVideo ``tensor_shape`` puts the 3 channels on."""
    valid = (isinstance(tensor_shape, (list, tuple))
             and all(isinstance(n, int) and not isinstance(n, bool) for n in tensor_shape)
             and sorted(tensor_shape) == [1] * (len(tensor_shape) - 1) + [3])
    if not valid:
        raise ValueError(f"Normalization: tensor_shape must be 1s and one 3 (the channel axis), "
                         f"e.g. [1, 1, 1, 3]; got {tensor_shape!r}")
    return list(tensor_shape).index(3) - len(tensor_shape)


def _channel_stats(values: Any, name: str) -> np.ndarray:
    """``values`` as a float32 array [3] (one per RGB channel), or a ValueError."""
    try:
        arr = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise ValueError(f"Normalization: {name} must be 3 numbers, got {values!r}") from err
    if arr.shape != (3,):
        raise ValueError(f"Normalization: {name} must be 3 numbers (R, G, B), got {values!r}")
    return arr


@PIPELINES.register()
class Normalization:
    """uint8 -> float32 ``(imgs / 255 - mean) / std`` per RGB channel (PaddleVideo semantics).

    ``mean``/``std`` are in 0-1 units, e.g. ImageNet ``[0.485, 0.456, 0.406]`` /
    ``[0.229, 0.224, 0.225]``. Computed in float32 in place on one new array.

    Requires / changes: ``imgs`` uint8 [N, H, W, 3] -> float32 [N, H, W, 3].

    Args:
        mean: per-channel mean, 3 numbers.
        std: per-channel standard deviation, 3 positive numbers.
        tensor_shape: PaddleVideo's shape of mean/std, which says where the channels are at the
            op's place in the transform list: ``[1, 1, 1, 3]`` before ``Image2Array`` (frames
            [N, H, W, 3]), ``[3, 1, 1]`` after ``Image2Array(tchw)``, ``[3, 1, 1, 1]`` after
            ``Image2Array(cthw)``. The computation is the same for all (this op always runs on
            [N, H, W, 3] frames); ``Compose`` checks that the shape fits where the op is listed
            (``check_layout``). None: not checked.

    Raises:
        ValueError: wrong length or non-positive std, a tensor_shape that is not 1s and one 3
            (construction); imgs not uint8 (call time, which usually means the op was listed
            twice or out of order).
    """

    FORMAT_STEP = 1

    def __init__(self, mean: list, std: list, tensor_shape: Optional[List[int]] = None):
        self.mean = _channel_stats(mean, "mean")
        self.std = _channel_stats(std, "std")
        if np.any(self.std <= 0):
            raise ValueError(f"Normalization: std must be positive, got {std!r}")
        self.tensor_shape = tensor_shape
        self.channel_axis = None if tensor_shape is None else _channel_axis(tensor_shape)

    def check_layout(self, layout: str) -> None:
        """ValueError unless ``tensor_shape`` (if given) fits a clip in ``layout`` (a key of
        ``CHANNEL_AXIS``), the layout at the op's place in the transform list."""
        if self.channel_axis is not None and self.channel_axis != CHANNEL_AXIS[layout]:
            raise ValueError(f"Normalization: tensor_shape {self.tensor_shape} puts the channels on "
                             f"axis {self.channel_axis}, but where it is listed the clip is "
                             f"{layout} (channels on axis {CHANNEL_AXIS[layout]}): use "
                             f"tensor_shape {TENSOR_SHAPES[layout]}")

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("imgs",), "Normalization")
        imgs = results["imgs"]
        if getattr(imgs, "dtype", None) != np.uint8 or imgs.shape[-1] != 3:
            raise ValueError(f"Normalization: expects uint8 [N, H, W, 3] imgs, got "
                             f"{getattr(imgs, 'dtype', type(imgs))} {getattr(imgs, 'shape', '')}")
        out = imgs.astype(np.float32)
        out /= np.float32(255.0)
        out -= self.mean
        out /= self.std
        results["imgs"] = out
        return results


@PIPELINES.register()
class Image2Array:
    """Moves channels first: [N, H, W, 3] -> float32 [3, N, H, W] (``cthw``) or [N, 3, H, W].

    Requires / changes: ``imgs`` (contiguous float32 afterwards). Adds nothing.

    Args:
        data_format: ``'cthw'`` (channels, frames, height, width) or ``'tchw'``.
    """

    FORMAT_STEP = 2

    def __init__(self, data_format: str = "cthw"):
        if data_format not in _LAYOUTS:
            raise ValueError(f"Image2Array: data_format must be one of {sorted(_LAYOUTS)}, "
                             f"got {data_format!r}")
        self.data_format = data_format

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("imgs",), "Image2Array")
        imgs = np.asarray(results["imgs"])
        if imgs.ndim != 4:
            raise ValueError(f"Image2Array: imgs must be [N, H, W, C], got shape {imgs.shape}")
        moved = imgs.transpose(_LAYOUTS[self.data_format])
        results["imgs"] = np.ascontiguousarray(moved, dtype=np.float32)
        return results
