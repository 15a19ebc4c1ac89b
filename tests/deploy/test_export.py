"""Export helpers: the input shape, ONNX tidying and the parity bookkeeping."""
import numpy as np
import pytest

from paddlevideo.deploy.export import ParityResult, check_parity, inference_input_shape, parity_cases, random_input
from paddlevideo.registry import ConfigError


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


def test_parity_reports_max_difference_and_shape_mismatch():
    shape = [None, 3, 2, 4, 4]
    cases = parity_cases(lambda x: x.reshape(len(x), -1)[:, :5], shape, batch_sizes=(1, 3))
    assert [imgs.shape[0] for imgs, _ in cases] == [1, 3]
    good = check_parity("same", lambda x: x.reshape(len(x), -1)[:, :5] + 5e-5, cases, atol=1e-4)
    assert good.ok and good.batch_sizes == [1, 3] and abs(good.max_abs_diff - 5e-5) < 1e-6
    assert "-> OK" in good.message()
    bad = check_parity("wrong shape", lambda x: np.zeros((len(x), 4)), cases, atol=1e-4)
    assert not bad.ok and "FAILED" in bad.message()
    assert not ParityResult("nan", [1], float("nan"), 1e-4).ok


def test_random_input_is_reproducible_and_in_normalised_range():
    a, b = random_input([None, 3, 4, 8, 8], 2, seed=1), random_input([None, 3, 4, 8, 8], 2, seed=1)
    assert a.shape == (2, 3, 4, 8, 8) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert a.min() >= -1 and a.max() < 1


def test_tidy_onnx_names_batch_and_drops_unused_initializers():
    from onnx import TensorProto, helper, numpy_helper

    from paddlevideo.deploy.export import tidy_onnx

    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "b"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["DynamicDimension.0", 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["DynamicDimension.1", 2])],
        [numpy_helper.from_array(np.ones(2, np.float32), "b"),
         numpy_helper.from_array(np.ones(2, np.float32), "unused")])
    model = helper.make_model(graph)
    tidy_onnx(model)
    assert [i.name for i in model.graph.initializer] == ["b"]
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert model.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
