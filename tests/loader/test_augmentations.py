"""Spatial ops: resizing, cropping and flipping geometry on clips whose pixels say where they came from."""
import numpy as np
import pytest

from paddlevideo.loader.pipelines import (
    CenterCrop,
    JitterScale,
    RandomCrop,
    RandomFlip,
    Scale,
    ThreeCrop,
)


def test_scale_short_side_keeps_ratio_and_uint8():
    imgs = np.zeros((3, 32, 40, 3), np.uint8)
    out = Scale(short_size=16)({"imgs": imgs})["imgs"]
    assert out.shape == (3, 16, 20, 3) and out.dtype == np.uint8
    portrait = Scale(short_size=16)({"imgs": np.zeros((2, 40, 32, 3), np.uint8)})["imgs"]
    assert portrait.shape == (2, 20, 16, 3)
    square = Scale(short_size=16, keep_ratio=False)({"imgs": imgs})["imgs"]
    assert square.shape == (3, 16, 16, 3)


def test_scale_skips_frames_already_at_size():
    imgs = np.zeros((2, 32, 40, 3), np.uint8)
    assert Scale(short_size=32)({"imgs": imgs})["imgs"] is imgs


def test_jitter_scale_draws_one_inclusive_size_for_all_frames(randint_max):
    out = JitterScale(min_size=20, max_size=24)({"imgs": np.zeros((5, 32, 40, 3), np.uint8)})
    assert randint_max == [(20, 25)]
    assert out["imgs"].shape == (5, 24, 30, 3)
    with pytest.raises(ValueError, match="max_size"):
        JitterScale(min_size=30, max_size=20)


# ---------------------------------------------------------------- cropping and flipping

def test_random_crop_same_window_for_all_frames(position_clip):
    np.random.seed(1)
    for _ in range(10):
        out = RandomCrop(target_size=6)({"imgs": position_clip()})["imgs"]
        assert out.shape == (4, 6, 6, 3)
        positions = out[..., :2]
        np.testing.assert_array_equal(positions, np.broadcast_to(positions[:1], positions.shape))
        np.testing.assert_array_equal(out[:, 0, 0, 2], np.arange(4))


def test_random_crop_uses_every_valid_offset(randint_max, position_clip):
    out = RandomCrop(target_size=6)({"imgs": position_clip(h=10, w=12)})["imgs"]
    assert randint_max == [(0, 5), (0, 7)]
    assert (out[0, 0, 0, 0], out[0, 0, 0, 1]) == (4, 6)


@pytest.mark.parametrize("h,w", [(6, 12), (10, 6), (6, 6)])
def test_random_crop_side_equal_to_target(h, w, position_clip):
    out = RandomCrop(target_size=6)({"imgs": position_clip(h=h, w=w)})["imgs"]
    assert out.shape == (4, 6, 6, 3)


def test_crops_reject_frames_smaller_than_target(position_clip):
    for op in (RandomCrop(target_size=11), CenterCrop(target_size=11), ThreeCrop(target_size=11)):
        with pytest.raises(ValueError, match=r"10x12.*11"):
            op({"imgs": position_clip(h=10, w=12)})


def test_center_crop_offsets(position_clip):
    out = CenterCrop(target_size=6)({"imgs": position_clip(h=10, w=13)})["imgs"]
    assert out.shape == (4, 6, 6, 3)
    assert (out[0, 0, 0, 0], out[0, 0, 0, 1]) == (2, 3)


def test_three_crop_landscape_left_centre_right_crop_major(position_clip):
    out = ThreeCrop(target_size=6)({"imgs": position_clip(n=4, h=8, w=16)})["imgs"]
    assert out.shape == (12, 6, 6, 3)
    np.testing.assert_array_equal(out[:, 0, 0, 2], np.tile(np.arange(4), 3))  # frame order
    np.testing.assert_array_equal(out[::4, 0, 0, 1], [0, 5, 10])  # x offsets of the 3 views
    np.testing.assert_array_equal(out[::4, 0, 0, 0], [1, 1, 1])  # centred vertically


def test_three_crop_portrait_top_centre_bottom(position_clip):
    out = ThreeCrop(target_size=6)({"imgs": position_clip(n=2, h=16, w=8)})["imgs"]
    np.testing.assert_array_equal(out[::2, 0, 0, 0], [0, 5, 10])
    np.testing.assert_array_equal(out[::2, 0, 0, 1], [1, 1, 1])


def test_random_flip_flips_all_frames_or_none(position_clip):
    imgs = position_clip()
    flipped = RandomFlip(p=1.0)({"imgs": imgs.copy()})["imgs"]
    np.testing.assert_array_equal(flipped, imgs[:, :, ::-1])
    np.testing.assert_array_equal(RandomFlip(p=0.0)({"imgs": imgs.copy()})["imgs"], imgs)
    with pytest.raises(ValueError, match="p must"):
        RandomFlip(p=1.5)


# ---------------------------------------------------------------- normalisation and layout
