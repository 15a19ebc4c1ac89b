"""Edits of an exported ONNX graph, in place on a ``ModelProto``.

paddle2onnx writes every weight as a ``Constant`` node, leaves initializers that no node reads, and
names the dynamic batch axis ``DynamicDimension.N``. The fp32 export (``export.py``) and the int8
quantizer (``quantize.py``) both tidy the graph with these functions.
"""


def tidy_onnx(model) -> None:
    """Name the dynamic batch axis ``batch`` and remove initializers no node reads (in place)."""
    for value in list(model.graph.input) + list(model.graph.output):
        dim = value.type.tensor_type.shape.dim
        if dim and not dim[0].HasField("dim_value"):
            dim[0].dim_param = "batch"
    used = {name for node in model.graph.node for name in node.input}
    used |= {value.name for value in model.graph.output}
    unused = [init for init in model.graph.initializer if init.name not in used]
    for init in unused:
        model.graph.initializer.remove(init)


def constants_to_initializers(model) -> int:
    """Move every ``Constant`` node holding a tensor (``value`` attribute) into the graph's
    initializers, in place, so ONNX Runtime's quantizer sees the weights (it quantizes a MatMul only
    when its weight is an initializer).

    Returns:
        How many Constant nodes were moved.
    """
    keep, moved = [], 0
    for node in model.graph.node:
        attrs = {a.name: a for a in node.attribute}
        if node.op_type == "Constant" and set(attrs) == {"value"}:
            tensor = model.graph.initializer.add()
            tensor.CopyFrom(attrs["value"].t)
            tensor.name = node.output[0]
            moved += 1
        else:
            keep.append(node)
    del model.graph.node[:]
    model.graph.node.extend(keep)
    return moved


def graph_input_name(model_file: str) -> str:
    """Name of the first graph input of ``model_file`` that is not an initializer (the clips)."""
    import onnx

    model = onnx.load(model_file, load_external_data=False)
    initializers = {t.name for t in model.graph.initializer}
    return next(v.name for v in model.graph.input if v.name not in initializers)
