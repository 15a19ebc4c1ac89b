"""``UniformCrop``: PaddleVideo's TimeSformer test crop (left, right, centre along the long side)."""
import numpy as np
import pytest

from paddlevideo.loader.pipelines import Compose
from paddlevideo.loader.pipelines.uniform_crop import UniformCrop, uniform_crop_offsets


def frames(n: int, h: int, w: int) -> np.ndarray:
    """Frames whose pixel (y, x) of frame i holds (i, y, x), so crops are identifiable."""
    out = np.zeros((n, h, w, 3), np.uint8)
    out[..., 0] = np.arange(n)[:, None, None]
    out[..., 1] = np.arange(h)[None, :, None]
    out[..., 2] = np.arange(w)[None, None, :]
    return out


@pytest.mark.parametrize("h,w,expected", [
    (4, 9, [(0, 0), (0, 4), (0, 2)]),   # landscape, odd margin 5: PaddleVideo's 2*step stops 1 px short
    (4, 10, [(0, 0), (0, 6), (0, 3)]),
    (11, 4, [(0, 0), (6, 0), (3, 0)]),  # portrait: top, bottom, centre
    (4, 4, [(0, 0), (0, 0), (0, 0)]),
])
def test_offsets_are_paddlevideos(h, w, expected):
    assert uniform_crop_offsets(h, w, 4) == expected


def test_views_are_stacked_view_major_on_the_frame_axis():
    imgs = frames(3, 4, 10)
    out = UniformCrop(4)({"imgs": imgs})["imgs"]
    assert out.shape == (9, 4, 4, 3) and out.dtype == np.uint8
    for view, x in enumerate((0, 6, 3)):
        np.testing.assert_array_equal(out[3 * view:3 * view + 3], imgs[:, :, x:x + 4])


def test_frames_not_scaled_to_the_crop_are_rejected():
    with pytest.raises(ValueError, match="Scale"):
        UniformCrop(4)({"imgs": frames(2, 6, 8)})
    with pytest.raises(ValueError, match="positive"):
        UniformCrop(0)


def test_built_from_a_paddlevideo_style_transform_list():
    pipeline = Compose({"transform": [{"Scale": {"short_size": 4}}, {"UniformCrop": {"target_size": 4}},
                                      {"Normalization": {"mean": [0.5] * 3, "std": [0.5] * 3}},
                                      {"Image2Array": {"data_format": "cthw"}}]})
    out = pipeline({"imgs": frames(2, 8, 12)})["imgs"]
    assert out.shape == (3, 6, 4, 4)  # C, 3 views x 2 frames, H, W
