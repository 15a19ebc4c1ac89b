"""Normalization and Image2Array: values, dtype, layouts and config errors."""
import numpy as np
import pytest

from paddlevideo.loader.pipelines import (
    Image2Array,
    Normalization,
)


def test_normalization_values_and_float32():
    imgs = np.zeros((1, 1, 3, 3), np.uint8)
    imgs[0, 0] = [[0, 0, 0], [255, 255, 255], [51, 102, 204]]
    out = Normalization(mean=[0.5, 0.4, 0.2], std=[0.5, 0.2, 0.4])({"imgs": imgs})["imgs"]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0, 0], [[-1, -2, -0.5], [1, 3, 2], [-0.6, 0, 1.5]], atol=1e-6)


def test_normalization_rejects_bad_config_and_float_input():
    with pytest.raises(ValueError, match="mean"):
        Normalization(mean=[0.5, 0.5], std=[0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="std"):
        Normalization(mean=[0.5] * 3, std=[0.5, 0, 0.5])
    with pytest.raises(ValueError, match="uint8"):
        Normalization(mean=[0.5] * 3, std=[0.5] * 3)({"imgs": np.zeros((1, 2, 2, 3), np.float32)})


def test_image2array_layouts(position_clip):
    imgs = position_clip(n=4, h=10, w=12)
    out = Image2Array()({"imgs": imgs.copy()})
    assert set(out) == {"imgs"}
    cthw = out["imgs"]
    assert cthw.shape == (3, 4, 10, 12) and cthw.dtype == np.float32 and cthw.flags.c_contiguous
    np.testing.assert_array_equal(cthw[2, :, 0, 0], np.arange(4))
    np.testing.assert_array_equal(cthw[1, 0, 0, :], np.arange(12))
    tchw = Image2Array(data_format="tchw")({"imgs": imgs})["imgs"]
    assert tchw.shape == (4, 3, 10, 12)
    with pytest.raises(ValueError, match="cthw"):
        Image2Array(data_format="nhwc")


# ---------------------------------------------------------------- Compose
