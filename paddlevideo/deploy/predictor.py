"""One small interface over Paddle Inference and ONNX Runtime: ``predictor.run(imgs) -> logits``.

Paddle 3.x exports PIR programs (``<name>.json``); the old ``<name>.pdmodel`` is still accepted.
Facts of Paddle 3.3.1 this module works around:

* oneDNN (MKLDNN) is switched on by default in ``paddle.inference.Config``, so "off" has to call
  ``disable_mkldnn()``; and its PIR passes sometimes fail on valid programs, so when oneDNN was asked
  for and predictor creation (or the first run) fails, we warn and rebuild without it;
* ``enable_memory_optim()`` breaks predictor creation, so it is never called;
* ``Config.enable_tensorrt_engine`` only reaches legacy ``.pdmodel`` programs: a PIR ``.json`` goes
  through the PIR passes, which never read it, and would run plain GPU kernels, so ``--use_tensorrt``
  refuses a ``.json`` model (:func:`check_tensorrt`).

Precision is decided before anything runs, and the decision is kept in ``predictor.precision_note``
for the tools to print: CPU bf16 follows :func:`paddlevideo.deploy.cpu.decide_bf16` (fp32 when the CPU
has neither AMX-BF16 nor AVX512-BF16); ``int8`` is the ONNX model ``<name>.int8.onnx`` written by
``tools/export_model.py --quantize int8`` (:func:`find_int8_model`).
"""
import os
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..cpu import setup_cpu
from ..errors import ConfigError
from ..utils.logger import get_logger
from .cpu import decide_bf16
from .quantize import INT8_SUFFIX

logger = get_logger()

BACKENDS = ("paddle", "onnxruntime")
PRECISIONS = ("fp32", "fp16", "bf16", "int8")
PROGRAM_EXTENSIONS = (".json", ".pdmodel")


@dataclass
class PredictorOptions:
    """Runtime settings shared by both backends.

    Attributes:
        use_gpu: run on GPU 0 (``gpu_id``); needs a CUDA build of Paddle / onnxruntime-gpu.
        cpu_threads: intra-op threads on CPU (None: the process setup's, ``paddlevideo.cpu``: the
            user's ``OMP_NUM_THREADS``, else the cores this process may use).
        enable_mkldnn: Paddle on CPU: use oneDNN kernels (falls back to plain CPU if they fail).
        precision: ``fp32``; ``fp16`` (GPU); ``bf16`` (oneDNN on CPUs with AMX/AVX512-BF16, else
            fp32; or GPU); ``int8`` (the ``.int8.onnx`` model on ONNX Runtime).
        use_tensorrt: Paddle on GPU: TensorRT subgraphs of a legacy ``.pdmodel`` program (a PIR ``.json``
            is refused, :func:`check_tensorrt`); onnxruntime: the TensorRT provider.
        ir_optim: Paddle graph optimisation passes (``switch_ir_optim``).
        max_batch_size: largest batch TensorRT has to handle.
        gpu_mem: Paddle on GPU: initial memory pool in MB (PaddleVideo's ``--gpu_mem``).
        disable_glog: Paddle: silence the inference engine's own log lines.
    """

    use_gpu: bool = False
    gpu_id: int = 0
    cpu_threads: Optional[int] = None
    enable_mkldnn: bool = False
    precision: str = "fp32"
    use_tensorrt: bool = False
    ir_optim: bool = True
    max_batch_size: int = 1
    gpu_mem: int = 500
    disable_glog: bool = True

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ConfigError(f"--precision must be one of {list(PRECISIONS)}, got '{self.precision}'")
        if self.cpu_threads is not None and self.cpu_threads < 1:
            raise ConfigError(f"--cpu_threads must be >= 1, got {self.cpu_threads}")
        if self.max_batch_size < 1:
            raise ConfigError(f"--batch_size must be >= 1, got {self.max_batch_size}")

    @property
    def threads(self) -> int:
        return self.cpu_threads or setup_cpu().threads


def find_program(directory: str) -> str:
    """The one exported program (``<name>.json``, or an older ``<name>.pdmodel``) with its
    ``<name>.pdiparams`` in ``directory``.

    Raises:
        ConfigError: none, or several (then ``--model_file`` must name one).
    """
    found = sorted(os.path.join(directory, n) for n in os.listdir(directory)
                   if n.endswith(PROGRAM_EXTENSIONS)
                   and os.path.isfile(os.path.join(directory, os.path.splitext(n)[0] + ".pdiparams")))
    if len(found) != 1:
        what = "no exported model (<name>.json + <name>.pdiparams)" if not found else f"several models {found}"
        raise ConfigError(f"--model_file {directory}: {what} in this directory; name the .json file")
    return found[0]


def resolve_paddle_files(model_file: str, params_file: Optional[str] = None) -> Tuple[str, str]:
    """Locate the program and the parameters of an exported Paddle model.

    Args:
        model_file: ``<name>.json`` (PIR, Paddle >= 3) or ``<name>.pdmodel`` (older exports), or the
            directory holding one of them.
        params_file: the ``.pdiparams``; default: next to ``model_file`` with the same stem.

    Raises:
        ConfigError: a file is missing.
    """
    if os.path.isdir(model_file):
        model_file = find_program(model_file)
    if not os.path.isfile(model_file):
        raise ConfigError(f"--model_file not found: {model_file}")
    if params_file is None:
        params_file = os.path.splitext(model_file)[0] + ".pdiparams"
    if not os.path.isfile(params_file):
        raise ConfigError(f"--params_file not found: {params_file}")
    return model_file, params_file


def short_error(err: Exception) -> str:
    """``Type: summary`` -- Paddle's C++ errors carry long stack dumps before an ``(ErrorType) ...`` line."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    summary = [line for line in lines if line.startswith("(")] or lines[-1:] or [""]
    return f"{type(err).__name__}: {summary[0][:300]}"


def check_tensorrt(model_file: str, options: PredictorOptions) -> None:
    """Refuse ``--use_tensorrt`` where Paddle Inference would not run TensorRT.

    Paddle 3 runs a PIR program (``.json``) through its PIR passes, which never look at what
    ``Config.enable_tensorrt_engine`` set (its TensorRT subgraph pass belongs to the ``.pdmodel``
    analysis), so the predictor would run plain GPU kernels while the tools said TensorRT. PIR models
    reach TensorRT through ``paddle.tensorrt.convert`` (GPU builds with TensorRT only), which writes a new
    program holding TensorRT engine ops; Paddle Inference runs those with ``--use_gpu`` alone.

    Raises:
        ConfigError: ``--use_tensorrt`` with a ``.json`` model, naming it and the ways that do run TensorRT.
    """
    if options.use_tensorrt and model_file.endswith(".json"):
        raise ConfigError(
            f"--use_tensorrt: {model_file} is a PIR program, which Paddle 3 runs without TensorRT whatever "
            f"Config.enable_tensorrt_engine says. Convert it once with paddle.tensorrt.convert (a GPU build "
            f"of Paddle with TensorRT; TensorRTConfig(inputs=[Input(min_input_shape=..., "
            f"optim_input_shape=..., max_input_shape=...)], save_model_dir=DIR)) and run DIR.json with "
            f"--use_gpu and without --use_tensorrt; or run the .onnx export with --use_gpu --use_tensorrt "
            f"(onnxruntime-gpu's TensorRT provider)")


class Predictor:
    """Runs an exported recognizer: ``imgs`` float32 ``[B, 3, V*T, H, W]`` -> logits ``[B, K]``."""

    backend = ""
    precision_note = ""  # the precision that runs, and why (printed by the tools)

    def run(self, imgs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def describe(self) -> str:
        """One line saying what actually runs (device, kernels, precision, threads)."""
        raise NotImplementedError


def check_precision(options: PredictorOptions) -> str:
    """Settle the precision Paddle Inference runs at, in place, and say what was chosen.

    CPU bf16 runs through oneDNN, so it switches ``options.enable_mkldnn`` on; on a CPU without
    native bf16 it is replaced by fp32 (with oneDNN) rather than emulated slower, with a warning. With
    AVX512-BF16 but no AMX it runs, with a warning that it may be slower than fp32: whether it is
    depends on the CPU (see :func:`paddlevideo.deploy.cpu.decide_bf16`).

    Returns:
        One line naming the precision that will run and why (``predictor.precision_note``).

    Raises:
        ConfigError: fp16 on CPU; int8 (an ONNX model); TensorRT without GPU.
    """
    if options.use_tensorrt and not options.use_gpu:
        raise ConfigError("--use_tensorrt needs --use_gpu (TensorRT runs on NVIDIA GPUs only)")
    if options.precision == "int8":
        raise ConfigError("--precision int8 runs the int8 ONNX model (tools/export_model.py --quantize "
                          "int8) on ONNX Runtime, not Paddle Inference; drop --backend paddle")
    if options.use_gpu or options.precision == "fp32":
        return f"{options.precision} ({'GPU' if options.use_gpu else 'CPU'})"
    if options.precision == "fp16":
        raise ConfigError("--precision fp16 is a GPU mode (add --use_gpu); on CPU use fp32, or bf16 on "
                          "CPUs with AVX512-BF16/AMX")
    decision = decide_bf16()
    if not options.enable_mkldnn:
        logger.info("--precision bf16 runs through oneDNN: enabling it")
        options.enable_mkldnn = True
    if not decision.use_bf16:
        options.precision = "fp32"
    if decision.may_be_slower or not decision.use_bf16:
        logger.warning("--precision bf16: %s", decision.note)
    return f"bf16 requested -> {decision.note}"


class PaddlePredictor(Predictor):
    """``paddle.inference`` predictor (oneDNN fallback described in the module docstring).

    Args:
        model_file, params_file: see :func:`resolve_paddle_files`.
        options: runtime settings.
        input_shape: ``[None, 3, F, H, W]``, only needed for TensorRT's dynamic-shape ranges.
    """

    backend = "paddle"

    def __init__(self, model_file: str, params_file: Optional[str], options: PredictorOptions,
                 input_shape: Optional[Sequence[Optional[int]]] = None):
        self.model_file, self.params_file = resolve_paddle_files(model_file, params_file)
        check_tensorrt(self.model_file, options)
        self.options = options
        self.input_shape = input_shape
        self.precision_note = check_precision(options)
        self.mkldnn = options.enable_mkldnn and not options.use_gpu
        self.verified = False  # a run has succeeded with the current settings
        self.predictor = self._create()

    def _config(self):
        from paddle import inference

        opts = self.options
        config = inference.Config(self.model_file, self.params_file)
        if opts.disable_glog:
            config.disable_glog_info()
        config.switch_ir_optim(opts.ir_optim)
        if opts.use_gpu:
            self._configure_gpu(config, inference)
            return config
        config.disable_gpu()
        config.set_cpu_math_library_num_threads(opts.threads)
        if self.mkldnn:
            config.enable_mkldnn()
            config.set_mkldnn_cache_capacity(10)  # bounded cache of kernels per input shape
            if opts.precision == "bf16":
                config.enable_mkldnn_bfloat16()
        else:
            config.disable_mkldnn()
        return config

    def _configure_gpu(self, config, inference) -> None:
        import paddle

        opts = self.options
        if not paddle.is_compiled_with_cuda():
            raise ConfigError("--use_gpu: this Paddle build has no CUDA support (install paddlepaddle-gpu)")
        precision = {"fp32": inference.PrecisionType.Float32, "fp16": inference.PrecisionType.Half,
                     "bf16": inference.PrecisionType.Bfloat16}[opts.precision]
        config.enable_use_gpu(opts.gpu_mem, opts.gpu_id, precision)
        if opts.use_tensorrt:
            config.enable_tensorrt_engine(workspace_size=1 << 30, max_batch_size=opts.max_batch_size,
                                          min_subgraph_size=3, precision_mode=precision,
                                          use_static=False, use_calib_mode=False)
            if self.input_shape is not None:
                dims = [int(d) for d in self.input_shape[1:]]
                config.set_trt_dynamic_shape_info({"imgs": [1] + dims},
                                                  {"imgs": [opts.max_batch_size] + dims},
                                                  {"imgs": [opts.max_batch_size] + dims})

    def _create(self):
        from paddle import inference

        try:
            return inference.create_predictor(self._config())
        except Exception as err:  # Paddle maps C++ failures to many Python exception types
            if not self.mkldnn:
                raise
            self._drop_mkldnn(err, "creating the predictor")
            return inference.create_predictor(self._config())

    def _drop_mkldnn(self, err: Exception, when: str) -> None:
        """Switch oneDNN off after a failure, or re-raise if bf16 depends on it."""
        if self.options.precision == "bf16":
            raise RuntimeError(f"--precision bf16 needs oneDNN, which failed while {when} "
                               f"({short_error(err)})") from err
        logger.warning("oneDNN failed while %s (%s); falling back to plain CPU kernels",
                       when, short_error(err))
        self.mkldnn = False

    def _run_once(self, imgs: np.ndarray) -> np.ndarray:
        name = self.predictor.get_input_names()[0]
        handle = self.predictor.get_input_handle(name)
        handle.reshape(list(imgs.shape))
        handle.copy_from_cpu(np.ascontiguousarray(imgs, dtype=np.float32))
        self.predictor.run()
        output = self.predictor.get_output_handle(self.predictor.get_output_names()[0])
        return output.copy_to_cpu().astype(np.float32, copy=False)

    def run(self, imgs: np.ndarray) -> np.ndarray:
        if self.verified or not self.mkldnn:
            return self._run_once(imgs)
        try:
            out = self._run_once(imgs)
        except Exception as err:  # oneDNN kernels can also fail at the first run
            self._drop_mkldnn(err, "running the first batch")
            self.predictor = self._create()
            out = self._run_once(imgs)
        self.verified = True
        return out

    def describe(self) -> str:
        opts = self.options
        if opts.use_gpu:
            device = f"GPU {opts.gpu_id}" + (", TensorRT subgraphs" if opts.use_tensorrt else "")
        else:
            device = f"CPU, {opts.threads} threads, oneDNN {'on' if self.mkldnn else 'off'}"
        return (f"Paddle Inference ({os.path.basename(self.model_file)}), {device}, {opts.precision}, "
                f"ir_optim {'on' if opts.ir_optim else 'off'}")


class OnnxPredictor(Predictor):
    """ONNX Runtime session with all graph optimisations and a fixed intra-op thread count.

    Args:
        model_file: the ``.onnx`` file; ``<name>.int8.onnx`` is the quantized model.
        options: runtime settings (``precision`` fp32 or int8; the file decides, but int8 with an
            fp32 file is an error; ``use_gpu``/``use_tensorrt`` pick those providers).
    """

    backend = "onnxruntime"

    def __init__(self, model_file: str, options: PredictorOptions):
        import onnxruntime as ort

        if not os.path.isfile(model_file):
            raise ConfigError(f"--model_file not found: {model_file}")
        self.precision = "int8" if model_file.endswith(INT8_SUFFIX) else "fp32"
        if options.precision not in ("fp32", "int8"):
            raise ConfigError(f"--backend onnxruntime runs the fp32 or int8 ONNX model, not "
                              f"{options.precision}; use --backend paddle for {options.precision}")
        if options.precision == "int8" and self.precision != "int8":
            raise ConfigError(f"--precision int8: {model_file} is not an int8 model (those are named "
                              f"*{INT8_SUFFIX}); see find_int8_model")
        self.precision_note = f"{self.precision} ONNX model ({os.path.basename(model_file)})"
        self.model_file = model_file
        self.options = options
        self.providers = self._providers(ort.get_available_providers())
        self.session = ort.InferenceSession(model_file, self._session_options(ort),
                                            providers=self.providers)
        self.input_name = self.session.get_inputs()[0].name

    def _session_options(self, ort):
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.intra_op_num_threads = self.options.threads
        so.inter_op_num_threads = 1
        so.log_severity_level = 3  # paddle2onnx leaves unused initializers that ORT warns about
        return so

    def _providers(self, available: List[str]) -> List[str]:
        if not self.options.use_gpu:
            return ["CPUExecutionProvider"]
        wanted = (["TensorrtExecutionProvider"] if self.options.use_tensorrt else []) + \
            ["CUDAExecutionProvider"]
        missing = [p for p in wanted if p not in available]
        if missing:
            raise ConfigError(f"onnxruntime has no {missing} here (available: {available}); install "
                              f"onnxruntime-gpu or drop --use_gpu/--use_tensorrt")
        return wanted + ["CPUExecutionProvider"]

    def run(self, imgs: np.ndarray) -> np.ndarray:
        feed = {self.input_name: np.ascontiguousarray(imgs, dtype=np.float32)}
        return self.session.run(None, feed)[0].astype(np.float32, copy=False)

    def describe(self) -> str:
        return (f"ONNX Runtime ({os.path.basename(self.model_file)}), {self.providers[0]}, "
                f"{self.options.threads} intra-op threads, ORT_ENABLE_ALL, {self.precision}")


def infer_backend(model_file: str, backend: Optional[str] = None) -> str:
    """``backend`` if given, else ``onnxruntime`` for ``.onnx`` files and ``paddle`` otherwise."""
    if backend is None:
        return "onnxruntime" if model_file.endswith(".onnx") else "paddle"
    if backend not in BACKENDS:
        raise ConfigError(f"--backend must be one of {list(BACKENDS)}, got '{backend}'")
    if (backend == "onnxruntime") != model_file.endswith(".onnx"):
        raise ConfigError(f"--backend {backend} does not match --model_file {model_file} "
                          f"(onnxruntime reads .onnx, paddle reads <name>.json/.pdmodel)")
    return backend


def find_int8_model(model_file: str) -> str:
    """The int8 ONNX model that goes with ``model_file``.

    Args:
        model_file: ``<name>.int8.onnx`` itself; ``<name>.onnx``, ``<name>.json`` or ``<name>.pdmodel``
            (the int8 file next to it); or their directory (its one ``*.int8.onnx``).

    Raises:
        ConfigError: no such file (with the command that writes it), or several in the directory.
    """
    if os.path.isdir(model_file):
        found = sorted(os.path.join(model_file, n) for n in os.listdir(model_file) if n.endswith(INT8_SUFFIX))
        if len(found) == 1:
            return found[0]
        what = f"several int8 models {found}" if found else f"no *{INT8_SUFFIX} model"
        raise ConfigError(f"--precision int8: {what} in {model_file}; export one with tools/export_model.py "
                          f"--quantize int8, or name the file")
    candidate = model_file if model_file.endswith(INT8_SUFFIX) else os.path.splitext(model_file)[0] + INT8_SUFFIX
    if not os.path.isfile(candidate):
        raise ConfigError(f"--precision int8: {candidate} not found; write it with tools/export_model.py "
                          f"--quantize int8 (next to the fp32 model)")
    return candidate


def create_predictor(model_file: str, params_file: Optional[str] = None,
                     options: Optional[PredictorOptions] = None, backend: Optional[str] = None,
                     input_shape: Optional[Sequence[Optional[int]]] = None) -> Predictor:
    """A :class:`PaddlePredictor` or :class:`OnnxPredictor` for ``model_file``.

    Args:
        model_file: ``<name>.json``/``.pdmodel`` (or their directory), or ``<name>.onnx``; with
            ``options.precision == 'int8'`` any of them leads to ``<name>.int8.onnx``
            (:func:`find_int8_model`).
        params_file: Paddle parameters (default: next to the model file).
        options: runtime settings (default: fp32 on CPU, all CPUs, oneDNN off).
        backend: ``paddle`` or ``onnxruntime``; default from the model file's extension.
        input_shape: ``[None, 3, F, H, W]`` (TensorRT shape ranges).
    """
    options = options or PredictorOptions()
    if options.precision == "int8":
        if backend == "paddle":
            check_precision(options)  # raises, saying int8 is an ONNX Runtime model
        return OnnxPredictor(find_int8_model(model_file), options)
    if infer_backend(model_file, backend) == "onnxruntime":
        return OnnxPredictor(model_file, options)
    return PaddlePredictor(model_file, params_file, options, input_shape)
