"""Colour ops on a clip: random brightness, saturation, gamma and hue (the TokShift UCF101 recipe).

Why clip-level: a clip is one shot under one lighting, so every random choice -- whether to apply
the op and its strength -- is drawn once per call with ``np.random`` and applied to all frames.
(PaddleVideo's versions were written to draw new parameters for every frame, which would turn
lighting into flicker between the frames the model shifts tokens across; they also crashed, calling
the wrong ``ColorJitter`` and returning lists.)

Op names, constructor keys and defaults follow PaddleVideo, so its config files load; the
parameter ranges follow ``paddle.vision.transforms.ColorJitter``, which PaddleVideo meant to call
(x is an R, G or B value in 0-255):

* ``RandomBrightness``: factor ~ U[max(0, 1 - b), 1 + b]; ``x -> x * factor``.
* ``RandomSaturation``: factor ~ U[max(0, 1 - s), 1 + s]; ``x -> grey + factor * (x - grey)``.
* ``RandomGamma``: exponent ~ U[1 - g, 1 + g]; ``x -> 255 * (x / 255) ** exponent``.
* ``RandomHue``: shift ~ U[-h, h] turns of the colour wheel; HSV hue rotated by ``shift * 360``
  degrees.

``grey`` is the ITU-R BT.601 luma ``0.299 R + 0.587 G + 0.114 B``. Results are rounded and clipped
to 0-255. All ops take and return ``results['imgs']`` as uint8 RGB [N, H, W, 3] (any memory
layout, e.g. a crop view; when applied, the output is a new contiguous array) and must run before
``Normalization``. Brightness and gamma are one ``cv2.LUT`` over the clip; saturation and hue
run in float32 on the whole clip at once, so their cost does not grow with Python loops.
"""
import math
from typing import Any, Dict

import cv2
import numpy as np

from paddlevideo.registry import PIPELINES

from .compose import require_keys


def _check_number(value: Any, name: str, op: str, low: float, high: float,
                  high_inclusive: bool = True) -> float:
    """``value`` as a float; ValueError unless it is a real number in [low, high] ([low, high))."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{op}: {name} must be a finite number, got {value!r}")
    above = value > high if high_inclusive else value >= high
    if value < low or above:
        bracket = "]" if high_inclusive else ")"
        raise ValueError(f"{op}: {name} must lie in [{low}, {high}{bracket}, got {value!r}")
    return float(value)


def _uint8_clip(results: Dict[str, Any], op: str) -> np.ndarray:
    """``results['imgs']`` checked to be a uint8 [N, H, W, 3] array."""
    require_keys(results, ("imgs",), op)
    imgs = results["imgs"]
    if (not isinstance(imgs, np.ndarray) or imgs.dtype != np.uint8 or imgs.ndim != 4
            or imgs.shape[-1] != 3):
        raise ValueError(f"{op}: expects uint8 RGB [N, H, W, 3] imgs, got "
                         f"{getattr(imgs, 'dtype', type(imgs))} {getattr(imgs, 'shape', '')}; "
                         f"colour ops must come before Normalization")
    return imgs


def _as_image(imgs: np.ndarray, dtype: type = np.uint8) -> np.ndarray:
    """The clip as one tall contiguous image [N*H, W, 3] of ``dtype`` (one copy at most), so each
    cv2 call covers every frame."""
    return np.ascontiguousarray(imgs, dtype=dtype).reshape(-1, imgs.shape[2], 3)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """Round and clip float pixel values to uint8."""
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def apply_lut(imgs: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Map every uint8 value of the clip through ``table`` (uint8 [256]); same shape out."""
    return cv2.LUT(_as_image(imgs), table).reshape(imgs.shape)


def adjust_brightness(imgs: np.ndarray, factor: float) -> np.ndarray:
    """``x * factor`` for every channel value, rounded and clipped. imgs: uint8 [N, H, W, 3]."""
    return apply_lut(imgs, _to_uint8(np.arange(256, dtype=np.float64) * factor))


def adjust_gamma(imgs: np.ndarray, exponent: float) -> np.ndarray:
    """``255 * (x / 255) ** exponent``: a monotone map fixing 0 and 255; exponent > 1 darkens.

    Args:
        imgs: uint8 [N, H, W, 3].
        exponent: > 0.
    """
    return apply_lut(imgs, _to_uint8(255.0 * (np.arange(256) / 255.0) ** exponent))


def adjust_saturation(imgs: np.ndarray, factor: float) -> np.ndarray:
    """Blend each pixel with its luma: 0 gives greyscale, 1 the input, 2 doubles the chroma.

    Grey pixels (R == G == B) are left unchanged by any factor. imgs: uint8 RGB [N, H, W, 3].
    """
    flat = _as_image(imgs, np.float32)
    grey = cv2.cvtColor(cv2.cvtColor(flat, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    # cv2 rather than numpy broadcasting: numpy's inner loop over 3 channels is much slower
    out = cv2.addWeighted(flat, factor, grey, 1.0 - factor, 0.0, dtype=cv2.CV_8U)  # rounds, clips
    return out.reshape(imgs.shape)


def adjust_hue(imgs: np.ndarray, shift: float) -> np.ndarray:
    """Rotate the HSV hue by ``shift`` turns (0.5 = complementary colours).

    Runs in float32 HSV, so saturation and value (the largest channel) are kept up to rounding and
    a zero shift is the identity. imgs: uint8 RGB [N, H, W, 3].
    """
    # float HSV takes RGB in any unit: V = max(R, G, B) stays in 0-255, H is in degrees [0, 360)
    hsv = cv2.cvtColor(_as_image(imgs, np.float32), cv2.COLOR_RGB2HSV)
    hue = hsv[..., 0] + np.float32(shift * 360.0)  # contiguous copy [N*H, W]
    # wrap into [0, 360) with floor: np.mod is much slower here
    hue -= np.float32(360.0) * np.floor(hue * np.float32(1.0 / 360.0))
    hsv[..., 0] = hue
    # the RGB values are >= 0, so convertScaleAbs is just a rounding, saturating cast to uint8
    return cv2.convertScaleAbs(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)).reshape(imgs.shape)


class _RandomColorOp:
    """With probability ``p`` draw one parameter and apply it to every frame of the clip.

    Subclasses define ``sample_param`` (one ``np.random`` draw) and ``apply(imgs, param)``.
    """

    def __init__(self, p: float):
        self.p = _check_number(p, "p", type(self).__name__, 0.0, 1.0)

    def sample_param(self) -> float:
        raise NotImplementedError

    def apply(self, imgs: np.ndarray, param: float) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        imgs = _uint8_clip(results, type(self).__name__)
        if np.random.rand() < self.p:
            results["imgs"] = self.apply(imgs, self.sample_param())
        return results


@PIPELINES.register()
class RandomBrightness(_RandomColorOp):
    """Scales all pixel values of the clip by one factor drawn from [max(0, 1 - b), 1 + b].

    Requires / changes: ``imgs`` uint8 RGB [N, H, W, 3] (same shape and dtype).

    Args:
        p: probability of applying the op to a clip.
        brightness: ``b`` >= 0; PaddleVideo's default 1 gives factors in [0, 2].
    """

    def __init__(self, p: float = 0.1, brightness: float = 1.0):
        super().__init__(p)
        self.brightness = _check_number(brightness, "brightness", "RandomBrightness", 0.0, math.inf)

    def sample_param(self) -> float:
        return float(np.random.uniform(max(0.0, 1.0 - self.brightness), 1.0 + self.brightness))

    def apply(self, imgs: np.ndarray, param: float) -> np.ndarray:
        return adjust_brightness(imgs, param)


@PIPELINES.register()
class RandomSaturation(_RandomColorOp):
    """Scales the colourfulness of the clip by one factor drawn from [max(0, 1 - s), 1 + s].

    Requires / changes: ``imgs`` uint8 RGB [N, H, W, 3] (same shape and dtype).

    Args:
        p: probability of applying the op to a clip.
        saturation: ``s`` >= 0; PaddleVideo's default 2 gives factors in [0, 3].
    """

    def __init__(self, p: float = 0.1, saturation: float = 2.0):
        super().__init__(p)
        self.saturation = _check_number(saturation, "saturation", "RandomSaturation", 0.0, math.inf)

    def sample_param(self) -> float:
        return float(np.random.uniform(max(0.0, 1.0 - self.saturation), 1.0 + self.saturation))

    def apply(self, imgs: np.ndarray, param: float) -> np.ndarray:
        return adjust_saturation(imgs, param)


@PIPELINES.register()
class RandomGamma(_RandomColorOp):
    """Gamma-corrects the clip with one exponent drawn from [1 - g, 1 + g].

    An exponent above 1 darkens the shadows, below 1 lightens them; 0 and 255 stay fixed.

    Requires / changes: ``imgs`` uint8 RGB [N, H, W, 3] (same shape and dtype).

    Args:
        p: probability of applying the op to a clip.
        gamma: ``g`` in [0, 1) so the exponent stays positive (PaddleVideo's default 0.2).
    """

    def __init__(self, p: float = 0.1, gamma: float = 0.2):
        super().__init__(p)
        self.gamma = _check_number(gamma, "gamma", "RandomGamma", 0.0, 1.0, high_inclusive=False)

    def sample_param(self) -> float:
        return float(np.random.uniform(1.0 - self.gamma, 1.0 + self.gamma))

    def apply(self, imgs: np.ndarray, param: float) -> np.ndarray:
        return adjust_gamma(imgs, param)


@PIPELINES.register()
class RandomHue(_RandomColorOp):
    """Rotates the hue of the clip by one shift drawn from [-h, h] turns of the colour wheel.

    Requires / changes: ``imgs`` uint8 RGB [N, H, W, 3] (same shape and dtype).

    Args:
        p: probability of applying the op to a clip.
        hue: ``h`` in [0, 0.5]; PaddleVideo's default 0.5 allows any rotation.
    """

    def __init__(self, p: float = 0.1, hue: float = 0.5):
        super().__init__(p)
        self.hue = _check_number(hue, "hue", "RandomHue", 0.0, 0.5)

    def sample_param(self) -> float:
        return float(np.random.uniform(-self.hue, self.hue))

    def apply(self, imgs: np.ndarray, param: float) -> np.ndarray:
        return adjust_hue(imgs, param)
