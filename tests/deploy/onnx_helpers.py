"""Hand-built ONNX graphs laid out as paddle2onnx writes them (weights as ``Constant`` nodes)."""
import numpy as np

IN, HIDDEN, OUT = 64, 256, 5


def constant(name: str, array: np.ndarray):
    from onnx import helper, numpy_helper

    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(array, name))


def paddle2onnx_like_mlp(path, seed: int = 0) -> str:
    """``x [B, 64] -> MatMul -> Add -> Relu -> MatMul -> [B, 5]`` with every weight a Constant node,
    plus an activation x activation MatMul (``h @ h^T``, summed in) that must stay fp32."""
    import onnx
    from onnx import TensorProto, helper

    rng = np.random.RandomState(seed)
    nodes = [constant("w1", (rng.randn(IN, HIDDEN) * 0.1).astype(np.float32)),
             constant("b1", (rng.randn(HIDDEN) * 0.1).astype(np.float32)),
             constant("w2", (rng.randn(HIDDEN, OUT) * 0.1).astype(np.float32)),
             constant("unused", np.zeros(3, np.float32)),
             helper.make_node("MatMul", ["x", "w1"], ["h0"]),
             helper.make_node("Add", ["h0", "b1"], ["h1"]),
             helper.make_node("Relu", ["h1"], ["h"]),
             helper.make_node("Transpose", ["h"], ["ht"], perm=[1, 0]),
             helper.make_node("MatMul", ["h", "ht"], ["gram"]),
             helper.make_node("ReduceMean", ["gram"], ["g"], axes=[1], keepdims=1),
             helper.make_node("MatMul", ["h", "w2"], ["y0"]),
             helper.make_node("Add", ["y0", "g"], ["y"])]
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", IN])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", OUT])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)
