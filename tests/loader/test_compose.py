"""Compose: whole pipelines end to end, and where config mistakes are reported."""
import numpy as np
import pytest

from paddlevideo.errors import ConfigError
from paddlevideo.loader.pipelines import (
    Compose,
)

TRAIN_CFG = {
    "decode": {"name": "VideoDecoder"},
    "sample": {"name": "Sampler", "num_seg": 8, "seg_len": 1, "valid_mode": False,
               "dense_sample": False},
    "transform": [
        {"JitterScale": {"min_size": 64, "max_size": 80}},
        {"RandomCrop": {"target_size": 64}},
        {"RandomFlip": {"p": 0.5}},
        {"Normalization": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}},
        {"Image2Array": {"data_format": "cthw"}},
    ],
}


def test_compose_train_pipeline_end_to_end(make_video):
    path = make_video(num_frames=20)
    results = Compose(TRAIN_CFG)({"filename": str(path), "label": 1})
    imgs = results["imgs"]
    assert imgs.shape == (3, 8, 64, 64) and imgs.dtype == np.float32
    assert -1.0 <= imgs.min() and imgs.max() <= 1.0
    expected = (10 * results["frame_indices"] / 255 - 0.5) / 0.5
    np.testing.assert_allclose(imgs.mean(axis=(0, 2, 3)), expected, atol=0.05)


def test_compose_test_pipeline_three_crop(make_video):
    cfg = {"decode": {"name": "VideoDecoder"},
           "sample": {"name": "Sampler", "num_seg": 4, "valid_mode": True, "dense_sample": True,
                      "dense_stride": 4, "num_clips": 2},
           "transform": [{"Scale": {"short_size": 16}}, {"ThreeCrop": {"target_size": 16}},
                         {"Image2Array": None}]}
    results = Compose(cfg)({"filename": str(make_video(num_frames=20)), "label": 0})
    assert results["imgs"].shape == (3, 3 * 2 * 4, 16, 16)


@pytest.mark.parametrize("transform,message", [
    ([{"RandomCrop": {"target_size": 8}}, {"RandomCorp": {"target_size": 8}}],
     r"transform\[1\].*RandomCorp.*Did you mean"),
    ([{"RandomCrop": {"target_sise": 8}}], r"transform\[0\].*target_sise"),
    ([{"RandomCrop": {"target_size": 8}, "RandomFlip": None}], r"transform\[0\].*one-key"),
    ([{"RandomCrop": {"target_size": -8}}], r"transform\[0\].*target_size"),
])
def test_compose_reports_bad_transform_item(transform, message):
    with pytest.raises(ConfigError, match=message):
        Compose({"transform": transform})


def test_compose_reports_bad_stage():
    with pytest.raises(ConfigError, match="sampel"):
        Compose({"sampel": {"name": "Sampler", "num_seg": 8}})
    with pytest.raises(ConfigError, match=r"PIPELINE.sample.*Smapler"):
        Compose({"sample": {"name": "Smapler", "num_seg": 8}})
