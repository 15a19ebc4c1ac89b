"""Int8 ONNX models from the fp32 export, with ONNX Runtime's quantizer.

Two modes, both quantizing only the MatMul/Gemm layers whose weight is a constant (the attention
products ``q @ k^T`` and ``attn @ v`` multiply two activations and stay fp32, as do Conv, LayerNorm,
softmax and GELU):

* ``dynamic`` (default): weights stored as int8, activations quantized per batch at run time
  (``DynamicQuantizeLinear`` + ``MatMulInteger``); needs no data.
* ``static``: QDQ format, activation ranges calibrated (MinMax) on clips the caller provides, one
  clip at a time (``CalibStridedMinMax=1``): by default ORT keeps the MatMul inputs of every
  calibration clip in memory, about 100 MB per single-view ViT-B 8x224 clip. (Its
  ``CalibMaxIntermediateOutputs`` option would discard data in ORT 1.32 instead of folding it.)

Traps this module handles (each silently produced an fp32-sized "int8" model or an import error):

* paddle2onnx emits every weight as a ``Constant`` node, and ORT only quantizes a MatMul whose B
  input is an initializer, so the constants are turned into initializers first
  (:func:`~paddlevideo.deploy.onnx_graph.constants_to_initializers`);
* ``quant_pre_process`` must skip ORT's symbolic shape inference (``skip_symbolic_shape=True``),
  which does not handle the dynamic batch reshapes of the exported graph;
* ``onnxruntime.quantization`` imports ``ml_dtypes`` (a requirement of this project).

Weights are quantized to 7 bits (``reduce_range=True``: int8 values in [-64, 64]) in both modes. ORT
multiplies uint8 activations by int8 weights (U8S8); on x86 CPUs with AVX2 or AVX-512 but without VNNI
its kernels use VPMADDUBSW, which adds two uint8 x int8 products into a *saturating* int16. With full-range
weights a pair reaches 2 x 255 x 127 = 64770 and is clipped to 32767; with 7-bit weights it stays within
2 x 255 x 64 = 32640, so every CPU computes the exact integer product. ONNX Runtime's quantization guide
names ``reduce_range`` (or U8U8) as the fix and says VNNI CPUs do not need it, but the int8 file may be
written on one machine and served on another. U8U8 also avoids saturation but gives up VNNI's U8S8
kernels and ran slower; the README has the measurements.

A model in which nothing got quantized is an error, never a silent success.
"""
import logging
import os
import tempfile
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Dict, Iterator, Optional, Sequence

import numpy as np

from ..utils.atomic import atomic_path
from ..utils.logger import get_logger
from .onnx_graph import constants_to_initializers, graph_input_name, tidy_onnx

logger = get_logger()

INT8_SUFFIX = ".int8.onnx"
QUANTIZED_OP_TYPES = ("MatMul", "Gemm")
MODES = ("dynamic", "static")
# Nodes that exist only in a quantized graph: dynamic (MatMulInteger), static QDQ, or fused forms.
INT8_NODE_TYPES = ("DynamicQuantizeLinear", "MatMulInteger", "QuantizeLinear", "DequantizeLinear",
                   "QLinearMatMul", "DynamicQuantizeMatMul", "MatMulIntegerToFloat")
INT8_TYPES = ("INT8", "UINT8")


def int8_path(onnx_file: str) -> str:
    """``out/name.onnx`` -> ``out/name.int8.onnx`` (also for ``.json``/``.pdmodel`` stems)."""
    if onnx_file.endswith(INT8_SUFFIX):
        return onnx_file
    return os.path.splitext(onnx_file)[0] + INT8_SUFFIX


def quantization_api():
    """``onnxruntime.quantization``, with the reason when it cannot be imported."""
    try:
        import onnxruntime.quantization as quantization
    except ImportError as err:  # it imports ml_dtypes at module level
        raise RuntimeError(f"int8 quantization needs onnxruntime.quantization, which failed to import "
                           f"({err}); install the requirements (pip install ml_dtypes)") from err
    return quantization


@dataclass
class QuantizationSummary:
    """What an int8 export contains.

    Attributes:
        file: the int8 model.
        fp32_file: the model it was made from.
        mode: ``dynamic`` or ``static``.
        int8_nodes: count per quantization node type (``MatMulInteger``, ``QuantizeLinear``, ...).
        int8_initializers: number of int8/uint8 weight tensors.
        int8_weight_bytes: their total size.
    """

    file: str
    fp32_file: str
    mode: str
    int8_nodes: Dict[str, int] = field(default_factory=dict)
    int8_initializers: int = 0
    int8_weight_bytes: int = 0

    @property
    def size_ratio(self) -> float:
        return os.path.getsize(self.file) / os.path.getsize(self.fp32_file)

    def message(self) -> str:
        nodes = ", ".join(f"{n} {op}" for op, n in sorted(self.int8_nodes.items()))
        return (f"int8 ({self.mode}) {os.path.basename(self.file)}: {os.path.getsize(self.file) / 2**20:.2f} MB "
                f"vs fp32 {os.path.getsize(self.fp32_file) / 2**20:.2f} MB ({self.size_ratio:.2f}x); "
                f"{self.int8_initializers} int8 weight tensors ({self.int8_weight_bytes / 2**20:.2f} MB), {nodes}")


def inspect_int8(model_file: str, fp32_file: str, mode: str) -> QuantizationSummary:
    """Count the quantization nodes and int8 weights of ``model_file``."""
    import onnx

    model = onnx.load(model_file)
    nodes = Counter(n.op_type for n in model.graph.node if n.op_type in INT8_NODE_TYPES)
    int8 = [t for t in model.graph.initializer if onnx.TensorProto.DataType.Name(t.data_type) in INT8_TYPES]
    weights = [t for t in int8 if len(t.dims) >= 2]  # zero points are scalars or vectors
    return QuantizationSummary(model_file, fp32_file, mode, dict(nodes), len(weights),
                               sum(int(np.prod(t.dims)) for t in weights))


class ClipReader:
    """ORT ``CalibrationDataReader`` over clips ``[C, F, H, W]`` (an array ``[N, C, F, H, W]`` or a
    lazy sequence such as :class:`~paddlevideo.deploy.classifier.VideoClips`), one per batch.
    ``set_range`` serves ORT's strided calibration (a slice of the clips per pass)."""

    def __init__(self, input_name: str, clips: Sequence[np.ndarray]):
        self.input_name = input_name
        self.clips = clips
        self.iterator: Iterator[np.ndarray] = iter(())
        self.rewind()

    def __len__(self) -> int:
        return len(self.clips)

    def set_range(self, start_index: int, end_index: int) -> None:
        self.iterator = iter(self.clips[start_index:end_index])

    def get_next(self) -> Optional[Dict[str, np.ndarray]]:
        clip = next(self.iterator, None)
        return None if clip is None else {self.input_name: np.ascontiguousarray(clip[None], dtype=np.float32)}

    def rewind(self) -> None:
        self.iterator = iter(self.clips)


@contextmanager
def quiet_root_logger() -> Iterator[None]:
    """ORT's quantizer logs one INFO line per tensor on the root logger; keep WARNING and above."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        root.setLevel(level)


def prepare_fp32(fp32_file: str, out_file: str) -> None:
    """The fp32 model with its weights as initializers, through ORT's ``quant_pre_process``
    (graph optimisation and ONNX shape inference; symbolic shape inference skipped)."""
    import onnx

    model = onnx.load(fp32_file)
    moved = constants_to_initializers(model)
    tidy_onnx(model)  # Constants no node read became unused initializers
    logger.debug("%s: %d Constant nodes became initializers", fp32_file, moved)
    raw = out_file + ".raw.onnx"
    onnx.save(model, raw)
    try:
        quantization_api()
        from onnxruntime.quantization.shape_inference import quant_pre_process

        quant_pre_process(raw, out_file, skip_symbolic_shape=True)
    finally:
        os.remove(raw)


def quantize_int8(fp32_file: str, out_file: Optional[str] = None,
                  calibration: Optional[Sequence[np.ndarray]] = None, per_channel: bool = False) -> QuantizationSummary:
    """Write an int8 version of ``fp32_file``: dynamic without ``calibration``, static QDQ with it.
    Weights are 7-bit (int8 in [-64, 64]) so that no CPU saturates the products (see the module docstring).

    Args:
        fp32_file: the paddle2onnx export.
        out_file: default ``<stem>.int8.onnx`` next to ``fp32_file``.
        calibration: clips ``[C, F, H, W]`` (the model's input without the batch axis): an array
            ``[N, C, F, H, W]`` or a lazy sequence such as ``VideoClips``; static quantization is
            calibrated on them. None: dynamic quantization.
        per_channel: one weight scale per output channel (static QDQ always uses per-channel).

    Raises:
        RuntimeError: ``onnxruntime.quantization`` is unavailable, or nothing was quantized.
    """
    q = quantization_api()
    out_file = out_file or int8_path(fp32_file)
    mode = "dynamic" if calibration is None else "static"
    with tempfile.TemporaryDirectory() as tmp, atomic_path(out_file) as target, quiet_root_logger():
        prepared = os.path.join(tmp, "prepared.onnx")
        prepare_fp32(fp32_file, prepared)
        options = {"MatMulConstBOnly": True}  # activation x activation products stay fp32
        if calibration is None:
            q.quantize_dynamic(prepared, target, op_types_to_quantize=list(QUANTIZED_OP_TYPES),
                               per_channel=per_channel, reduce_range=True, weight_type=q.QuantType.QInt8,
                               extra_options=options)
        else:
            reader = ClipReader(graph_input_name(prepared), calibration)
            options["CalibStridedMinMax"] = 1  # fold the ranges clip by clip: memory of one clip
            q.quantize_static(prepared, target, reader, quant_format=q.QuantFormat.QDQ,
                              op_types_to_quantize=list(QUANTIZED_OP_TYPES), per_channel=True, reduce_range=True,
                              activation_type=q.QuantType.QUInt8, weight_type=q.QuantType.QInt8,
                              calibrate_method=q.CalibrationMethod.MinMax, extra_options=options)
        summary = inspect_int8(target, fp32_file, mode)
        if summary.int8_initializers == 0:
            raise RuntimeError(f"ONNX Runtime quantized no weight of {fp32_file} (MatMul/Gemm weights must "
                               f"be initializers); the model would only be an fp32 copy")
    summary.file = out_file
    return summary

