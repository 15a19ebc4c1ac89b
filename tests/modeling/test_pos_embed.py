"""Position-embedding resampling: bilinear with aligned corners, as scipy.ndimage.zoom(order=1)."""
import numpy as np
import paddle
import pytest

from paddlevideo.modeling.builder import build_model
from paddlevideo.modeling.layers import resample_pos_embed
from paddlevideo.modeling.weights.loading import load_weights


def test_matches_scipy_zoom_order_1():
    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(0)
    pos = rng.normal(size=(1, 1 + 14 * 14, 6))
    out = resample_pos_embed(pos, 16)
    grid = pos[0, 1:].reshape(14, 14, 6)
    expected = ndimage.zoom(grid, (16 / 14, 16 / 14, 1), order=1)
    np.testing.assert_allclose(out[0, 1:].reshape(16, 16, 6), expected, atol=1e-10)
    np.testing.assert_array_equal(out[:, :1], pos[:, :1])


def test_corners_kept_and_linear_in_between():
    grid = np.zeros((1, 1 + 4, 1))
    grid[0, 1:, 0] = [0.0, 3.0, 6.0, 9.0]  # 2x2: rows [0, 3], [6, 9]
    out = resample_pos_embed(grid, 4)[0, 1:, 0].reshape(4, 4)
    np.testing.assert_allclose(out[0], [0, 1, 2, 3])
    np.testing.assert_allclose(out[:, 0], [0, 2, 4, 6])
    assert out[-1, -1] == 9.0


def test_loading_other_resolution_resamples(tiny_model_cfg):
    src = build_model(tiny_model_cfg)  # 32 px -> 2x2 grid
    tiny_model_cfg["backbone"]["img_size"] = 64  # 4x4 grid
    dst = build_model(tiny_model_cfg)
    load_weights(dst, src.state_dict(), source="test")
    expected = resample_pos_embed(src.backbone.pos_embed.numpy(), 4)
    np.testing.assert_allclose(dst.backbone.pos_embed.numpy(), expected, atol=1e-6)
    assert dst([paddle.randn([1, 3, 4, 64, 64])]).shape == [1, 5]
