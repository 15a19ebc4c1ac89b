"""Behaviour of the colour ops: value ranges of each adjustment on hand-built clips, one draw per
clip, identity at p=0, dtype/shape kept, seeded repeatability, argument checks and the UCF101
recipe's place for them in the train pipeline."""
import os

import cv2
import numpy as np
import pytest

from paddlevideo.config import get_config
from paddlevideo.loader.pipelines import (
    Compose,
    RandomBrightness,
    RandomGamma,
    RandomHue,
    RandomSaturation,
)
from paddlevideo.loader.pipelines.color import adjust_hue, adjust_saturation

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UCF_CONFIG = os.path.join(ROOT, "configs", "recognition", "tokshift", "tokshift_ucf101_256_8f.yaml")
COLOR_OPS = ("RandomBrightness", "RandomSaturation", "RandomGamma", "RandomHue")
LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601 weights of R, G, B


def all_ops(p):
    return [RandomBrightness(p=p), RandomSaturation(p=p), RandomGamma(p=p), RandomHue(p=p)]


def random_clip(seed=0, frames=4, height=12, width=10):
    return np.random.default_rng(seed).integers(0, 256, (frames, height, width, 3), dtype=np.uint8)


def ramp_clip(frames=3):
    """Every uint8 value once per channel: frame [16, 16, 3] with pixel (i, j) = 16 * i + j."""
    frame = np.repeat(np.arange(256, dtype=np.uint8).reshape(16, 16, 1), 3, axis=2)
    return np.stack([frame] * frames)


def run(op, imgs):
    return op({"imgs": imgs})["imgs"]


def hsv(imgs):
    """Float HSV (H in degrees) of a uint8 RGB clip, flattened to [pixels, 3]."""
    flat = imgs.reshape(-1, 1, 3).astype(np.float32) / 255.0
    return cv2.cvtColor(flat, cv2.COLOR_RGB2HSV).reshape(-1, 3)


@pytest.mark.parametrize("op", all_ops(0.0), ids=COLOR_OPS)
def test_p0_is_identity(op):
    imgs = random_clip()
    for _ in range(5):
        assert run(op, imgs) is imgs


@pytest.mark.parametrize("op", all_ops(1.0), ids=COLOR_OPS)
def test_dtype_shape_kept_and_input_untouched(op):
    full = random_clip(frames=3, height=20, width=18)
    crop = full[:, 2:14, 3:13]  # a non-contiguous view, as RandomCrop returns
    before = full.copy()
    np.random.seed(1)
    out = run(op, crop)
    assert out.dtype == np.uint8 and out.shape == crop.shape
    np.testing.assert_array_equal(full, before)


@pytest.mark.parametrize("op", all_ops(1.0), ids=COLOR_OPS)
def test_same_parameters_for_every_frame(op):
    frame = random_clip(frames=1)[0]
    imgs = np.stack([frame] * 6)
    for seed in range(10):
        np.random.seed(seed)
        out = run(op, imgs)
        assert all(np.array_equal(out[0], out[t]) for t in range(1, 6))


@pytest.mark.parametrize("op", all_ops(1.0), ids=COLOR_OPS)
def test_changes_the_clip_when_applied(op):
    imgs = random_clip()
    np.random.seed(0)
    changed = [not np.array_equal(run(op, imgs), imgs) for _ in range(5)]
    assert any(changed)


def test_probability_is_one_draw_per_clip():
    op = RandomBrightness(p=0.3, brightness=0.5)
    imgs = np.full((2, 4, 4, 3), 100, np.uint8)
    np.random.seed(0)
    applied = sum(not np.array_equal(run(op, imgs), imgs) for _ in range(400))
    assert 80 <= applied <= 160


def test_brightness_factor_within_bounds():
    b = 0.4
    op = RandomBrightness(p=1.0, brightness=b)
    imgs = np.full((3, 4, 4, 3), 100, np.uint8)
    np.random.seed(0)
    factors = []
    for _ in range(200):
        out = run(op, imgs)
        assert np.all(out == out.flat[0])  # one factor, every pixel and frame
        factors.append(out.flat[0] / 100.0)
    assert min(factors) >= 1 - b - 0.005 and max(factors) <= 1 + b + 0.005
    assert min(factors) < 0.7 and max(factors) > 1.3  # the range is really used


def test_brightness_scales_without_wrapping():
    np.random.seed(0)
    imgs = ramp_clip()
    for _ in range(20):
        out = run(RandomBrightness(p=1.0, brightness=1.0), imgs).astype(int)
        assert np.all(np.diff(out[0, ..., 0].ravel()) >= 0)  # monotone, clipped instead of wrapping
        assert out[0, 0, 0, 0] == 0


def test_gamma_is_monotone_fixes_ends_and_stays_in_range():
    g = 0.3
    op = RandomGamma(p=1.0, gamma=g)
    x = np.arange(256)
    imgs = ramp_clip()
    np.random.seed(0)
    for _ in range(50):
        out = run(op, imgs)[0, ..., 0].ravel().astype(float)
        assert np.all(np.diff(out) >= 0)
        assert out[0] == 0 and out[255] == 255
        lower = 255 * (x / 255) ** (1 + g)  # exponent 1 + g darkens most
        upper = 255 * (x / 255) ** (1 - g)
        assert np.all(out >= np.floor(lower) - 0.5) and np.all(out <= np.ceil(upper) + 0.5)
    np.testing.assert_array_equal(run(RandomGamma(p=1.0, gamma=0.0), imgs), imgs)


def test_hue_keeps_value_and_saturation_and_shifts_every_pixel_alike():
    h = 0.2
    imgs = random_clip(seed=3, frames=2, height=16, width=16)
    before = hsv(imgs)
    coloured = before[:, 1] > 0.3  # hue is ill-defined (and noisy after rounding) near grey
    np.random.seed(0)
    shifts = []
    for _ in range(30):
        out = run(RandomHue(p=1.0, hue=h), imgs)
        # value = largest channel, and the smallest channel (hence saturation) are kept
        assert np.abs(out.max(-1).astype(int) - imgs.max(-1)).max() <= 1
        assert np.abs(out.min(-1).astype(int) - imgs.min(-1)).max() <= 1
        diff = (hsv(out)[coloured, 0] - before[coloured, 0] + 180.0) % 360.0 - 180.0  # degrees
        assert np.abs(diff).max() <= h * 360 + 3
        assert np.ptp(diff) <= 6  # one rotation for the whole clip (up to uint8 rounding)
        shifts.append(np.median(diff))
    assert min(shifts) < -0.5 * h * 360 and max(shifts) > 0.5 * h * 360


def test_hue_zero_shift_and_half_turns_round_trip():
    imgs = random_clip(seed=4)
    np.testing.assert_array_equal(adjust_hue(imgs, 0.0), imgs)
    np.testing.assert_array_equal(adjust_hue(adjust_hue(imgs, 0.5), -0.5), imgs)
    np.testing.assert_array_equal(run(RandomHue(p=1.0, hue=0.0), imgs), imgs)


def test_saturation_leaves_grey_unchanged():
    grey = np.random.default_rng(5).integers(0, 256, (4, 8, 8, 1), dtype=np.uint8).repeat(3, axis=3)
    np.random.seed(0)
    for _ in range(20):
        np.testing.assert_array_equal(run(RandomSaturation(p=1.0, saturation=2.0), grey), grey)


def test_saturation_scales_chroma_by_one_factor_within_bounds():
    s = 0.5
    rng = np.random.default_rng(6)
    base = rng.integers(100, 156, (3, 8, 8, 1))
    # mild colours around mid grey: even factor 1 + s stays inside 0-255
    imgs = (base + rng.integers(-25, 26, (3, 8, 8, 3))).astype(np.uint8)
    luma = imgs.astype(np.float64) @ LUMA
    chroma_in = imgs - luma[..., None]
    np.random.seed(0)
    factors = []
    for _ in range(50):
        out = run(RandomSaturation(p=1.0, saturation=s), imgs).astype(np.float64)
        chroma_out = out - luma[..., None]
        factor = np.sum(chroma_out * chroma_in) / np.sum(chroma_in ** 2)
        assert np.abs(chroma_out - factor * chroma_in).max() <= 1.0  # the same factor everywhere
        np.testing.assert_allclose(out @ LUMA, luma, atol=1.0)  # luma is kept
        factors.append(factor)
    assert min(factors) >= 1 - s - 0.01 and max(factors) <= 1 + s + 0.01
    assert min(factors) < 0.8 and max(factors) > 1.2


def test_saturation_zero_gives_grey():
    out = adjust_saturation(random_clip(seed=7), 0.0)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])


def test_seeded_runs_repeat():
    ops = Compose({"transform": [{"RandomBrightness": {"p": 0.5}}, {"RandomSaturation": {"p": 0.5}},
                                 {"RandomGamma": {"p": 0.5}}, {"RandomHue": {"p": 0.5}}]})
    imgs = random_clip(seed=8)

    def outputs(seed):
        np.random.seed(seed)
        return [ops({"imgs": imgs})["imgs"] for _ in range(6)]

    first, again, other = outputs(11), outputs(11), outputs(12)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


@pytest.mark.parametrize("cls, kwargs", [
    (RandomBrightness, {"p": -0.1}), (RandomBrightness, {"p": 1.5}),
    (RandomBrightness, {"p": True}), (RandomBrightness, {"p": "0.5"}),
    (RandomBrightness, {"brightness": -1}),
    (RandomBrightness, {"brightness": float("nan")}), (RandomSaturation, {"saturation": -0.5}),
    (RandomGamma, {"gamma": 1.0}), (RandomGamma, {"gamma": -0.1}), (RandomHue, {"hue": 0.6}),
    (RandomHue, {"hue": -0.1}), (RandomHue, {"p": float("inf")}),
])
def test_bad_arguments_raise(cls, kwargs):
    with pytest.raises(ValueError, match=cls.__name__):
        cls(**kwargs)


@pytest.mark.parametrize("op", all_ops(1.0), ids=COLOR_OPS)
def test_rejects_normalised_clips(op):
    with pytest.raises(ValueError, match="before Normalization"):
        run(op, np.zeros((2, 4, 4, 3), np.float32))
    with pytest.raises(KeyError):
        op({"label": 0})


def test_paddlevideo_style_config_keys_build():
    ops = Compose({"transform": [{"RandomBrightness": {"p": 0.1}}, {"RandomSaturation": {"p": 0.1}},
                                 {"RandomGamma": {"p": 0.1}}, {"RandomHue": {"p": 0.1}}]})
    assert [type(op).__name__ for op in ops.ops] == list(COLOR_OPS)
    brightness, saturation, gamma, hue = ops.ops
    defaults = (brightness.brightness, saturation.saturation, gamma.gamma, hue.hue)
    assert defaults == (1.0, 2.0, 0.2, 0.5)


def test_ucf101_train_pipeline_runs_colour_ops_on_uint8():
    cfg = get_config(UCF_CONFIG)
    names = [next(iter(item)) for item in cfg.PIPELINE.train.transform]
    flip, norm = names.index("RandomFlip"), names.index("Normalization")
    assert names[flip + 1:norm] == list(COLOR_OPS)
    assert all(item[name]["p"] == 0.1 for item, name in zip(cfg.PIPELINE.train.transform, names)
               if name in COLOR_OPS)
    pipeline = Compose({"transform": cfg.PIPELINE.train.transform})
    np.random.seed(0)
    out = pipeline({"imgs": random_clip(frames=8, height=240, width=320)})["imgs"]
    assert out.dtype == np.float32 and out.shape == (3, 8, 256, 256)
