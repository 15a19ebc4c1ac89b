"""ONNX graph edits on hand-built graphs laid out as paddle2onnx writes them."""
import numpy as np
from onnx_helpers import paddle2onnx_like_mlp

from paddlevideo.deploy.onnx_graph import constants_to_initializers, graph_input_name, tidy_onnx


def test_tidy_onnx_names_batch_and_drops_unused_initializers():
    from onnx import TensorProto, helper, numpy_helper

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


def test_constants_become_initializers(tmp_path):
    import onnx

    model = onnx.load(paddle2onnx_like_mlp(tmp_path / "mlp.onnx"))
    assert constants_to_initializers(model) == 4
    assert {t.name for t in model.graph.initializer} == {"w1", "b1", "w2", "unused"}
    assert not any(n.op_type == "Constant" for n in model.graph.node)
    tidy_onnx(model)  # the quantizer's next step: the Constant nobody read is gone
    assert {t.name for t in model.graph.initializer} == {"w1", "b1", "w2"}


def test_graph_input_name_skips_initializers_listed_as_inputs(tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((2, 2), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["imgs", "w"], ["y"])], "g",
        [helper.make_tensor_value_info("w", TensorProto.FLOAT, [2, 2]),  # old IR: weights listed as inputs
         helper.make_tensor_value_info("imgs", TensorProto.FLOAT, ["batch", 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])], [weight])
    path = str(tmp_path / "g.onnx")
    onnx.save(helper.make_model(graph), path)
    assert graph_input_name(path) == "imgs"
