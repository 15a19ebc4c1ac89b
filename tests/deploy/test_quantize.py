"""Int8 quantization on a hand-built ONNX graph laid out as paddle2onnx writes it (weights as Constant nodes)."""
import os

import numpy as np
import pytest
from onnx_helpers import HIDDEN, IN, OUT, paddle2onnx_like_mlp

from paddlevideo.deploy.quantize import ClipReader, inspect_int8, int8_path, quantize_int8


def run(model_file: str, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(model_file, options, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


@pytest.fixture(scope="module")
def mlp(tmp_path_factory) -> str:
    return paddle2onnx_like_mlp(tmp_path_factory.mktemp("mlp") / "mlp.onnx")


def test_int8_path_sits_next_to_the_fp32_model():
    assert int8_path("out/tokshift.onnx") == "out/tokshift.int8.onnx"
    assert int8_path("out/tokshift.json") == "out/tokshift.int8.onnx"
    assert int8_path("out/tokshift.int8.onnx") == "out/tokshift.int8.onnx"


def test_quantizing_the_raw_export_silently_does_nothing(mlp, tmp_path):
    """The trap: ORT's quantizer skips MatMuls whose weight is a Constant node, without a word."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = str(tmp_path / "raw.int8.onnx")
    quantize_dynamic(mlp, out, op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8)
    assert inspect_int8(out, mlp, "dynamic").int8_initializers == 0


def test_dynamic_int8_is_really_int8_and_agrees_with_fp32(mlp, tmp_path):
    summary = quantize_int8(mlp, str(tmp_path / "mlp.int8.onnx"))
    assert summary.file == str(tmp_path / "mlp.int8.onnx") and os.path.isfile(summary.file)
    assert summary.int8_initializers == 2  # w1 and w2; h @ h^T has no weight and stays fp32
    assert summary.int8_nodes.get("MatMulInteger") == 2 and summary.int8_nodes.get("DynamicQuantizeLinear")
    assert summary.int8_weight_bytes == IN * HIDDEN + HIDDEN * OUT
    assert summary.size_ratio < 0.4, summary.message()  # weights 4 bytes -> 1 byte
    assert "int8 (dynamic)" in summary.message()

    x = np.random.RandomState(1).randn(32, IN).astype(np.float32)
    ref, out = run(mlp, x), run(summary.file, x)
    diff = float(np.max(np.abs(out - ref)))
    agreement = float(np.mean(out.argmax(1) == ref.argmax(1)))
    print(f"\nint8 vs fp32 on 32 random inputs: max|diff| {diff:.3e} (logit range {np.ptp(ref):.3f}), "
          f"top-1 agreement {agreement:.0%}")
    assert diff < 0.02 * np.ptp(ref)
    assert agreement >= 0.9


def test_static_qdq_int8_uses_the_calibration_clips(mlp, tmp_path):
    calibration = np.random.RandomState(2).randn(8, IN).astype(np.float32)
    summary = quantize_int8(mlp, str(tmp_path / "mlp.int8.onnx"), calibration=calibration)
    assert summary.mode == "static" and summary.int8_initializers == 2
    assert summary.int8_nodes.get("QuantizeLinear") and summary.int8_nodes.get("DequantizeLinear")
    ref, out = run(mlp, calibration), run(summary.file, calibration)
    diff = float(np.max(np.abs(out - ref)))
    # per-tensor uint8 activations: coarser than dynamic int8 on this toy (its top-2 margins are
    # ~2% of its logit range, so only the difference is bounded; top-1 is checked on clips in tests/tools)
    print(f"\nstatic int8 vs fp32 on the 8 calibration inputs: max|diff| {diff:.3e} "
          f"(logit range {np.ptp(ref):.3f})")
    assert diff < 0.05 * np.ptp(ref)


def test_a_model_without_weights_to_quantize_is_an_error(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("MatMul", ["x", "x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 4])])
    path = str(tmp_path / "noweights.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    with pytest.raises(RuntimeError, match="quantized no weight"):
        quantize_int8(path)
    assert not os.path.exists(int8_path(path))


def test_clip_reader_feeds_one_clip_per_batch_and_rewinds():
    clips = np.arange(12, dtype=np.float32).reshape(3, 4)
    reader = ClipReader("imgs", clips)
    batches = [reader.get_next() for _ in range(4)]
    assert [b["imgs"].shape for b in batches[:3]] == [(1, 4)] * 3 and batches[3] is None
    reader.rewind()
    np.testing.assert_array_equal(reader.get_next()["imgs"][0], clips[0])
    assert len(reader) == 3
    reader.set_range(start_index=1, end_index=2)  # ORT's strided calibration: one clip per pass
    np.testing.assert_array_equal(reader.get_next()["imgs"][0], clips[1])
    assert reader.get_next() is None
