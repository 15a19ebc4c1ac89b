"""Export a recognizer for deployment and check that the exported files compute what the model computes.

This module runs the steps; the pieces live in modules that import no model code:
``input_shape`` (the input from the config), ``onnx_graph`` (graph edits), ``quantize`` (int8) and
``agreement`` (parity and int8 checks).

``paddle.jit.to_static`` + ``paddle.jit.save`` write ``<name>.json`` + ``<name>.pdiparams`` (PIR,
Paddle >= 3; ``<name>`` is the config's ``model_name`` unless given, as PaddleVideo names them);
paddle2onnx turns those into ``<name>.onnx``. The input is ``[B, C, V*T, H, W]`` with a
dynamic batch ``B``: ``V`` views of ``T = num_seg`` frames stacked on the frame axis, averaged inside
the graph in one batched pass (the recognizer's ``infer`` mode). Export always uses the explicit
attention path: fused attention kernels have no ONNX mapping and are no faster on CPU. On request
``<name>.int8.onnx`` is written too (``quantize.py``).

Every export is checked by running the saved model on random input and comparing with the dygraph
model: :class:`~paddlevideo.deploy.agreement.ParityResult` for the fp32 formats (absolute tolerance),
:class:`~paddlevideo.deploy.agreement.AgreementResult` for int8 (relative tolerance, and top-1
agreement on real clips).
"""
import os
import warnings
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import paddle
import paddle.nn as nn

from ..modeling.builder import build_model
from ..modeling.weights.loading import load_weights
from ..utils.atomic import atomic_path
from ..utils.checkpoint import load_file
from .agreement import (
    AgreementResult,
    ParityResult,
    check_int8_agreement,
    check_parity,
    clip_cases,
    parity_cases,
)
from .input_shape import INPUT_NAME, inference_input_shape
from .onnx_graph import tidy_onnx
from .predictor import OnnxPredictor, PaddlePredictor, PredictorOptions
from .quantize import QuantizationSummary, int8_path, quantize_int8

ONNX_OPSET = 17  # first opset with LayerNormalization


class InferenceModel(nn.Layer):
    """Export wrapper with the signature ``jit.save`` needs: ``forward(self, imgs) -> logits``.

    The recognizer's own ``forward(data_batch, mode)`` takes a list and a mode string; this calls its
    ``infer`` path so the traced graph has one tensor input and one output.
    """

    def __init__(self, recognizer: nn.Layer):
        super().__init__()
        self.recognizer = recognizer

    def forward(self, imgs: paddle.Tensor) -> paddle.Tensor:
        """``[B, C, V*T, H, W]`` -> logits ``[B, K]`` averaged over the V views."""
        return self.recognizer([imgs], mode="infer")


def load_recognizer(cfg: Dict, weights: Optional[str] = None) -> nn.Layer:
    """The recognizer in eval mode on the explicit attention path, with ``weights`` loaded strictly.

    Without ``weights`` the model keeps its random initialisation (benchmarks, tests).
    """
    model = build_model(cfg["MODEL"], init=weights is None)
    if weights is not None:
        load_weights(model, load_file(weights, "-p weights"), source=weights, strict=True)
    model.backbone.set_attn_impl("explicit")
    model.eval()
    return model


def dygraph_runner(recognizer: nn.Layer) -> Callable[[np.ndarray], np.ndarray]:
    """``imgs -> logits`` through the eager model (the reference for every parity check)."""

    def run(imgs: np.ndarray) -> np.ndarray:
        with paddle.no_grad():
            return recognizer([paddle.to_tensor(imgs)], mode="infer").numpy()

    return run


def save_inference_model(recognizer: nn.Layer, input_shape: Sequence[Optional[int]], out_dir: str,
                         name: str = "inference") -> Tuple[str, str]:
    """``to_static`` + ``jit.save``; returns (program file, params file).

    The program is ``<name>.json`` under PIR (Paddle 3 default) or ``<name>.pdmodel`` otherwise.
    """
    os.makedirs(out_dir, exist_ok=True)
    spec = paddle.static.InputSpec(list(input_shape), "float32", INPUT_NAME)
    static = paddle.jit.to_static(InferenceModel(recognizer), input_spec=[spec], full_graph=True)
    prefix = os.path.join(out_dir, name)
    with warnings.catch_warnings():
        # paddle.zeros_like (token shift padding) reads ``.place``, which PIR tensors lack; harmless
        warnings.filterwarnings("ignore", message="Tensor do not have 'place' interface")
        paddle.jit.save(static, prefix)
    for ext in (".json", ".pdmodel"):
        if os.path.isfile(prefix + ext):
            return prefix + ext, prefix + ".pdiparams"
    raise RuntimeError(f"paddle.jit.save wrote neither {prefix}.json nor {prefix}.pdmodel")


def export_onnx(model_file: str, params_file: str, onnx_file: str, opset: int = ONNX_OPSET) -> str:
    """Convert the saved Paddle model with paddle2onnx; the batch axis stays dynamic (``batch``).

    paddle2onnx's optimiser step would pip-install polygraphy/onnxoptimizer, so it is disabled
    (``optimize_tool='None'``); ONNX Runtime folds constants itself. Unused initializers that
    paddle2onnx leaves behind are dropped.

    Raises:
        RuntimeError: the conversion failed (paddle2onnx logs the reason and returns nothing).
    """
    import onnx
    import paddle2onnx

    try:
        data = paddle2onnx.export(model_file, params_file, save_file=None, opset_version=opset,
                                  auto_upgrade_opset=True, enable_onnx_checker=True,
                                  optimize_tool="None")
    except Exception as err:  # on failure paddle2onnx logs, then hits an unbound local
        raise RuntimeError(f"paddle2onnx could not convert {model_file} (see its log above): "
                           f"{type(err).__name__}: {err}") from err
    model = onnx.load_from_string(data)
    tidy_onnx(model)
    onnx.checker.check_model(model)
    with atomic_path(onnx_file) as tmp:
        onnx.save(model, tmp)
    return onnx_file


@dataclass
class ExportReport:
    """Files written by :func:`export_and_check` and the checks of each exported format."""

    model_file: str
    params_file: str
    input_shape: List[Optional[int]]
    onnx_file: Optional[str] = None
    checks: List[Union[ParityResult, AgreementResult]] = field(default_factory=list)
    quantization: Optional[QuantizationSummary] = None

    @property
    def int8_file(self) -> Optional[str]:
        return self.quantization.file if self.quantization is not None else None

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


@dataclass
class Int8Options:
    """How :func:`export_and_check` writes and judges ``<name>.int8.onnx``.

    Attributes:
        calibration: clips for static QDQ quantization (an array ``[N, C, F, H, W]`` or a lazy
            :class:`~paddlevideo.deploy.classifier.VideoClips`); None: dynamic.
        check_clips: real clips to judge top-1 agreement on, same types (None: random input only).
        rtol: largest accepted max|diff| as a fraction of the reference logit range.
        min_agreement: smallest accepted top-1 agreement on ``check_clips`` (None: reported only).
        per_channel: per-channel weight scales for dynamic quantization.
    """

    calibration: Optional[Sequence[np.ndarray]] = None
    check_clips: Optional[Sequence[np.ndarray]] = None
    rtol: float = 0.1
    min_agreement: Optional[float] = 0.9
    per_channel: bool = False


def export_and_check(cfg: Dict, weights: Optional[str], out_dir: str, onnx: bool = False,
                     batch_sizes: Sequence[int] = (1, 2), atol: float = 1e-4,
                     cpu_threads: Optional[int] = None, name: Optional[str] = None,
                     int8: Optional[Int8Options] = None) -> ExportReport:
    """Export ``<name>.json``/``.pdiparams`` (and ``<name>.onnx``, ``<name>.int8.onnx``) to
    ``out_dir``, then compare the exported model(s) with the dygraph model.

    Args:
        cfg: the whole config (MODEL and INFERENCE are used).
        weights: ``.pdparams`` to load strictly; None keeps the random initialisation.
        out_dir: output directory (created).
        onnx: also write ``<name>.onnx`` and check it with ONNX Runtime.
        batch_sizes: batch sizes of the random inputs (more than one exercises the dynamic batch).
        atol: largest accepted absolute logit difference of the fp32 formats.
        cpu_threads: threads of the checking predictors.
        name: file name stem (default: the config's ``model_name``).
        int8: also write the int8 ONNX model (implies ``onnx``) and judge it as
            :class:`AgreementResult` on the random parity input and on ``int8.check_clips``.
    """
    recognizer = load_recognizer(cfg, weights)
    input_shape = inference_input_shape(cfg)
    name = name or cfg["model_name"]
    model_file, params_file = save_inference_model(recognizer, input_shape, out_dir, name)
    report = ExportReport(model_file, params_file, input_shape)
    cases = parity_cases(dygraph_runner(recognizer), input_shape, batch_sizes)
    options = PredictorOptions(cpu_threads=cpu_threads)
    paddle_predictor = PaddlePredictor(model_file, params_file, options)
    report.checks.append(check_parity("Paddle Inference vs dygraph", paddle_predictor.run, cases, atol))
    if onnx or int8 is not None:
        report.onnx_file = export_onnx(model_file, params_file, os.path.join(out_dir, f"{name}.onnx"))
        onnx_predictor = OnnxPredictor(report.onnx_file, options)
        report.checks.append(check_parity("ONNX Runtime vs dygraph", onnx_predictor.run, cases, atol))
    if int8 is not None:
        export_int8(report, int8, cases, dygraph_runner(recognizer), cpu_threads)
    return report


def export_int8(report: ExportReport, int8: Int8Options, random_cases: Sequence[Tuple[np.ndarray, np.ndarray]],
                reference: Callable[[np.ndarray], np.ndarray], cpu_threads: Optional[int]) -> None:
    """Quantize ``report.onnx_file`` and append its checks (on ``random_cases`` and on
    ``int8.check_clips`` against ``reference``) to ``report``."""
    report.quantization = quantize_int8(report.onnx_file, int8_path(report.onnx_file), int8.calibration,
                                        per_channel=int8.per_channel)
    run = OnnxPredictor(report.quantization.file, PredictorOptions(cpu_threads=cpu_threads, precision="int8")).run
    name = "ONNX Runtime int8 vs dygraph"
    report.checks.append(check_int8_agreement(name, run, random_cases, "random input", int8.rtol))
    if int8.check_clips is not None:
        cases = clip_cases(reference, int8.check_clips)
        inputs = f"{len(int8.check_clips)} real clips"
        report.checks.append(check_int8_agreement(name, run, cases, inputs, int8.rtol, int8.min_agreement))
