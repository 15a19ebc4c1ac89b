"""The paper's evaluation protocol, checked against values worked out by hand from the official
TokShift ``data/dataset.py`` (``read_random_clip``, ``read_clip``) and ``data/augmentation.py``
(``Test_ClipAug``, ``clip_crop``, ``clip_center_crop``).

Dense clips: ``max_bound = max(F - T*stride + 1, 1)``, frame ``j`` at ``(start + j*stride) % F``;
train ``start = randint(0, max_bound - 1)`` (exclusive upper bound); test clip ``k`` of ``n``
``start = clip(int(k * (F / n)), 0, max_bound)``; 0 whenever ``max_bound == 1``.
"""
import glob
import os

import numpy as np
import pytest

from paddlevideo.config import check_config, get_config
from paddlevideo.errors import ConfigError
from paddlevideo.loader.pipelines import Compose, FlipViews, Sampler, ThreeCrop
from paddlevideo.loader.pipelines.sample import dense_indices, official_start
from paddlevideo.registry import PIPELINES, build

T, STRIDE = 8, 32  # "8x32": T * STRIDE = 256

# (frames F, clips n, expected start of each clip), worked out by hand:
TEST_STARTS = [
    # F < T*stride: max_bound 1 -> every clip starts at 0 (and wraps around the video)
    (100, 1, [0]),
    (100, 10, [0] * 10),
    # F == T*stride: max_bound 1 again
    (256, 1, [0]),
    (256, 10, [0] * 10),
    # F slightly larger: max_bound 2 / 3; tick 25.7 / 25.8 -> 0, 25, 51, ... clipped to max_bound
    (257, 10, [0] + [2] * 9),
    (258, 1, [0]),
    (258, 10, [0] + [3] * 9),
    # F larger: max_bound 45, tick 30 -> 0, 30, 60 ... clipped to 45
    (300, 1, [0]),
    (300, 10, [0, 30] + [45] * 8),
    # max_bound 745, tick 100 -> 800 and 900 clipped to 745
    (1000, 10, [0, 100, 200, 300, 400, 500, 600, 700, 745, 745]),
    # F much larger: max_bound 2745, tick 300, nothing clipped
    (3000, 1, [0]),
    (3000, 10, [0, 300, 600, 900, 1200, 1500, 1800, 2100, 2400, 2700]),
]


@pytest.mark.parametrize("frames_len,num_clips,starts", TEST_STARTS)
def test_official_test_starts_table(frames_len, num_clips, starts):
    sampler = Sampler(num_seg=T, dense_sample=True, dense_stride=STRIDE, valid_mode=True,
                      num_clips=num_clips, clip_starts="official")
    idx = sampler.sample_indices(frames_len).reshape(num_clips, T)
    expected = (np.array(starts)[:, None] + STRIDE * np.arange(T)) % frames_len
    np.testing.assert_array_equal(idx, expected)


def test_official_short_video_clips_wrap_and_repeat():
    idx = Sampler(num_seg=T, dense_sample=True, dense_stride=STRIDE, valid_mode=True, num_clips=10,
                  clip_starts="official").sample_indices(100).reshape(10, T)
    np.testing.assert_array_equal(idx[0], [0, 32, 64, 96, 28, 60, 92, 24])
    assert (idx == idx[0]).all()


def test_official_clip_bound_is_one_past_the_last_fitting_start():
    # T=8, stride 1, F=10: max_bound 3, tick 1.0 -> starts 0, 1, 2, 3, 3, ...; a start of 3
    # puts the last frame at 3 + 7 = 10, which wraps to frame 0 (as in the official code)
    idx = dense_indices(10, 8, 1, 1, True, clip=3, num_clips=10, clip_starts="official")
    np.testing.assert_array_equal(idx, [3, 4, 5, 6, 7, 8, 9, 0])


def test_official_start_keeps_the_float_tick():
    # int(11 * (30 / 22)) == 14 although 11 * 30 // 22 == 15: the official float arithmetic
    assert official_start(30, 1, 1, True, clip=11, num_clips=22) == 14


@pytest.fixture
def randint_calls(monkeypatch):
    """Replace np.random.randint by 'highest allowed value' and record the bounds passed."""
    calls = []

    def fake(low, high=None, size=None):
        calls.append((low, high))
        return high - 1

    monkeypatch.setattr(np.random, "randint", fake)
    return calls


# (frames F, randint bounds expected or None for no draw, start)
TRAIN_CASES = [
    (100, None, 0),  # max_bound 1
    (256, None, 0),  # max_bound 1
    (257, (0, 1), 0),  # max_bound 2: randint(0, 1) can only give 0
    (258, (0, 2), 1),  # max_bound 3: starts 0, 1 (2 fits but is never drawn)
    (300, (0, 44), 43),
    (3000, (0, 2744), 2743),
]


@pytest.mark.parametrize("frames_len,bounds,start", TRAIN_CASES)
def test_official_train_draw_bounds(randint_calls, frames_len, bounds, start):
    sampler = Sampler(num_seg=T, dense_sample=True, dense_stride=STRIDE, clip_starts="official")
    idx = sampler.sample_indices(frames_len)
    assert randint_calls == ([bounds] if bounds else [])
    np.testing.assert_array_equal(idx, (start + STRIDE * np.arange(T)) % frames_len)


def test_even_starts_stay_the_default(randint_calls):
    assert Sampler(num_seg=T, dense_sample=True).clip_starts == "even"
    Sampler(num_seg=T, dense_sample=True, dense_stride=STRIDE).sample_indices(300)
    assert randint_calls == [(0, 45)]  # any start that fits, unlike the official (0, 44)
    even = Sampler(num_seg=T, dense_sample=True, valid_mode=True, num_clips=3).sample_indices(300)
    np.testing.assert_array_equal(even.reshape(3, T)[:, 0], [0, 22, 44])
    centre = Sampler(num_seg=T, dense_sample=True, valid_mode=True).sample_indices(300)
    assert centre[0] == 22


def test_sampler_reads_the_official_clips():
    class Reader:
        def read(self, indices):
            return np.repeat(np.asarray(indices, dtype=np.uint8)[:, None, None, None], 3, axis=3)

    sampler = Sampler(num_seg=T, dense_sample=True, valid_mode=True, num_clips=10,
                      clip_starts="official")
    results = sampler({"filename": "v.avi", "reader": Reader(), "frames_len": 300})
    assert results["imgs"].shape == (10 * T, 1, 1, 3)
    np.testing.assert_array_equal(results["frame_indices"].reshape(10, T)[:, 0], [0, 30] + [45] * 8)


@pytest.mark.parametrize("kwargs,match", [
    ({"clip_starts": "centre", "dense_sample": True}, "clip_starts must be one of"),
    ({"clip_starts": "official"}, "dense_sample"),
])
def test_bad_clip_starts_rejected(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        build({"name": "Sampler", "num_seg": T, **kwargs}, PIPELINES)


# ---------------------------------------------------------------- spatial views

def coords_clip(n: int, h: int, w: int) -> np.ndarray:
    """uint8 [n, h, w, 3]: channel 0 holds the row, 1 the column, 2 the frame number."""
    imgs = np.empty((n, h, w, 3), dtype=np.uint8)
    imgs[..., 0] = np.arange(h)[None, :, None]
    imgs[..., 1] = np.arange(w)[None, None, :]
    imgs[..., 2] = np.arange(n)[:, None, None]
    return imgs


def view_origins(imgs: np.ndarray, n: int):
    """(y, x) of the top-left pixel of each block of ``n`` frames."""
    return [(int(v[0, 0, 0, 0]), int(v[0, 0, 0, 1])) for v in np.split(imgs, len(imgs) // n)]


# (h, w, target, expected (y, x) of the official centre, left and right views in our order
# left, centre, right). Official: x in {0, int((W - t) / 2.0), W - t}, y = int((H - t) / 2.0).
OFFICIAL_CROPS = [
    (6, 13, 6, [(0, 0), (0, 3), (0, 7)]),  # landscape scaled to the crop size, W - t odd
    (6, 14, 6, [(0, 0), (0, 4), (0, 8)]),  # landscape, W - t even
    (13, 6, 6, [(3, 0), (3, 0), (3, 0)]),  # portrait: three times the centre crop
    (6, 6, 6, [(0, 0), (0, 0), (0, 0)]),  # square
    (8, 15, 6, [(1, 0), (1, 4), (1, 9)]),  # short side larger than the crop
    (15, 8, 6, [(4, 0), (4, 1), (4, 2)]),  # portrait, short side larger than the crop
]


@pytest.mark.parametrize("h,w,t,origins", OFFICIAL_CROPS)
def test_three_crop_along_width_matches_official_offsets(h, w, t, origins):
    out = ThreeCrop(target_size=t, along="width")({"imgs": coords_clip(2, h, w)})["imgs"]
    assert out.shape == (6, t, t, 3)
    assert view_origins(out, 2) == origins
    np.testing.assert_array_equal(out[:, 0, 0, 2], [0, 1] * 3)  # crop-major, frames in order


@pytest.mark.parametrize("h,w,origins", [
    (6, 13, [(0, 0), (0, 3), (0, 7)]),  # landscape: same as the official
    (13, 6, [(0, 0), (3, 0), (7, 0)]),  # portrait: top, centre, bottom
    (6, 6, [(0, 0), (0, 0), (0, 0)]),
])
def test_three_crop_long_side_default(h, w, origins):
    op = ThreeCrop(target_size=6)
    assert op.along == "long_side"
    assert view_origins(op({"imgs": coords_clip(2, h, w)})["imgs"], 2) == origins


def test_three_crop_rejects_unknown_along():
    with pytest.raises(ConfigError, match="along must be one of"):
        build({"name": "ThreeCrop", "target_size": 6, "along": "height"}, PIPELINES)


def test_flip_views_appends_mirrored_copies():
    imgs = coords_clip(3, 4, 5)
    out = FlipViews()({"imgs": imgs})["imgs"]
    assert out.shape == (6, 4, 5, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[:3], imgs)
    np.testing.assert_array_equal(out[3:], imgs[:, :, ::-1])


def test_flip_then_three_crop_gives_the_official_mirrored_views():
    # W - t = 7 is odd: the official crops the flipped frame, so its centre view starts at
    # original column 12 - 3 = 9 (a mirrored crop of the original centre view would start at 8)
    out = Compose({"transform": [{"FlipViews": None},
                                 {"ThreeCrop": {"target_size": 6, "along": "width"}}]})(
        {"imgs": coords_clip(2, 6, 13)})["imgs"]
    assert out.shape == (12, 6, 6, 3)  # 3 crops x 2 flips x 2 frames
    first_column = [int(v[0, 0, 0, 1]) for v in np.split(out, 6)]
    assert first_column == [0, 12, 3, 9, 7, 5]  # (left, flipped left, centre, flipped centre, ...)
    flipped_centre = np.split(out, 6)[3]
    np.testing.assert_array_equal(flipped_centre[0, 0, :, 1], np.arange(9, 3, -1))


def test_official_pipeline_layout_is_one_view_per_num_seg_block():
    class Reader:
        def read(self, indices):
            return np.repeat(coords_clip(1, 6, 13), len(indices), axis=0)

    pipeline = Compose({
        "sample": {"name": "Sampler", "num_seg": 4, "valid_mode": True, "dense_sample": True,
                   "dense_stride": 2, "num_clips": 2, "clip_starts": "official"},
        "transform": [{"FlipViews": None}, {"ThreeCrop": {"target_size": 6, "along": "width"}},
                      {"Image2Array": {"data_format": "cthw"}}]})
    out = pipeline({"filename": "v.avi", "reader": Reader(), "frames_len": 20})
    assert out["imgs"].shape == (3, 3 * 2 * 2 * 4, 6, 6)  # 12 views of 4 frames


# ---------------------------------------------------------------- shipped K400 configs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
K400_CONFIGS = sorted(glob.glob(os.path.join(ROOT, "configs/recognition/tokshift/k400_*.yaml")))


def test_k400_configs_found():
    assert len(K400_CONFIGS) >= 7


@pytest.mark.parametrize("path", K400_CONFIGS)
def test_k400_configs_use_the_official_protocol(path):
    cfg = get_config(path)
    check_config(cfg, path)
    views = {}
    for mode, clips in (("valid", 1), ("test", 10)):
        pipeline = cfg["PIPELINE"][mode]
        sample = pipeline["sample"]
        assert sample["clip_starts"] == "official" and sample["dense_sample"]
        assert sample.get("num_clips", 1) == clips
        ops = {name: kwargs for item in pipeline["transform"] for name, kwargs in item.items()}
        size = cfg["MODEL"]["backbone"]["img_size"]
        assert ops["Scale"]["short_size"] == size  # VAL_SHORT_SIDE == VAL_PATCH_SIZE
        assert ops["ThreeCrop"] == {"target_size": size, "along": "width"}
        views[mode] = clips * 3 * (2 if "FlipViews" in ops else 1)
    assert views["test"] == cfg["INFERENCE"]["views"] == 30
    assert cfg["MODEL"]["avg_type"] == "score"
