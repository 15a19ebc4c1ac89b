"""The exported input shape, from the INFERENCE section with the backbone as fallback."""
import pytest

from paddlevideo.deploy.input_shape import INPUT_NAME, inference_input_shape
from paddlevideo.errors import ConfigError


def cfg(inference=None, **backbone):
    """Backbone keys left out take the class defaults (TokShift: num_seg 8, img_size 224, 3 channels)."""
    return {"MODEL": {"backbone": {"name": "TokenShiftVisionTransformer", **backbone}},
            "INFERENCE": inference or {}}


def test_input_shape_from_inference_section_with_fallbacks():
    assert inference_input_shape(cfg({"num_seg": 8, "target_size": 256, "views": 3})) == [None, 3, 24, 256, 256]
    assert inference_input_shape(cfg(num_seg=4, img_size=32)) == [None, 3, 4, 32, 32]
    assert inference_input_shape(cfg({"views": 30}), views=1) == [None, 3, 8, 224, 224]
    with pytest.raises(ConfigError):
        inference_input_shape(cfg({"views": 0}))


def test_inference_section_wins_over_the_backbone():
    shape = inference_input_shape(cfg({"num_seg": 2, "target_size": 16}, num_seg=4, img_size=32, in_channels=1))
    assert shape == [None, 1, 2, 16, 16]
    assert INPUT_NAME == "imgs"
