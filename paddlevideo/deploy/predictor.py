"""One small interface over Paddle Inference and ONNX Runtime: ``predictor.run(imgs) -> logits``.

Paddle 3.x exports PIR programs (``<name>.json``); the old ``<name>.pdmodel`` is still accepted.
Facts of Paddle 3.3.1 this module works around (see PITFALLS.md):

* oneDNN (MKLDNN) is switched on by default in ``paddle.inference.Config``, so "off" has to call
  ``disable_mkldnn()``; and its PIR passes sometimes fail on valid programs, so when oneDNN was asked
  for and predictor creation (or the first run) fails, we warn and rebuild without it;
* ``enable_memory_optim()`` breaks predictor creation, so it is never called.
"""
import logging
import os
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..registry import ConfigError
from .cpu import bf16_instruction_set

logger = logging.getLogger("paddlevideo")

BACKENDS = ("paddle", "onnxruntime")
PRECISIONS = ("fp32", "fp16", "bf16")
PROGRAM_EXTENSIONS = (".json", ".pdmodel")


@dataclass
class PredictorOptions:
    """Runtime settings shared by both backends.

    Attributes:
        use_gpu: run on GPU 0 (``gpu_id``); needs a CUDA build of Paddle / onnxruntime-gpu.
        cpu_threads: intra-op threads on CPU (None: the number of CPUs).
        enable_mkldnn: Paddle on CPU: use oneDNN kernels (falls back to plain CPU if they fail).
        precision: ``fp32``; ``fp16`` (GPU); ``bf16`` (CPU with AVX512-BF16/AMX through oneDNN, or GPU).
        use_tensorrt: Paddle on GPU: TensorRT subgraphs; onnxruntime: the TensorRT provider.
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
        return self.cpu_threads or os.cpu_count() or 1


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


class Predictor:
    """Runs an exported recognizer: ``imgs`` float32 ``[B, 3, V*T, H, W]`` -> logits ``[B, K]``."""

    backend = ""

    def run(self, imgs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def describe(self) -> str:
        """One line saying what actually runs (device, kernels, precision, threads)."""
        raise NotImplementedError


def check_precision(options: PredictorOptions) -> None:
    """Reject precision/device combinations that cannot work, saying why.

    CPU bf16 runs through oneDNN, so it switches ``options.enable_mkldnn`` on. Without AMX it works
    but is not faster: AVX512-BF16 dot products have the fp32 FMA's FLOP rate, and the casts cost
    extra (ViT-B/16 8x224 on 2 cores: 1.77 s bf16 vs 1.12 s fp32 oneDNN), which is logged.

    Raises:
        ConfigError: fp16 on CPU; bf16 on a CPU without native bf16; TensorRT without GPU.
    """
    if options.use_tensorrt and not options.use_gpu:
        raise ConfigError("--use_tensorrt needs --use_gpu (TensorRT runs on NVIDIA GPUs only)")
    if options.use_gpu or options.precision == "fp32":
        return
    if options.precision == "fp16":
        raise ConfigError("--precision fp16 is a GPU mode (add --use_gpu); on CPU use fp32, or bf16 on "
                          "CPUs with AVX512-BF16/AMX")
    isa = bf16_instruction_set()
    if isa is None:
        raise ConfigError("--precision bf16 on CPU needs AVX512-BF16 or AMX-BF16, and /proc/cpuinfo "
                          "lists neither on this machine; use fp32")
    if not options.enable_mkldnn:
        logger.info("--precision bf16 runs through oneDNN: enabling it (CPU has %s)", isa)
        options.enable_mkldnn = True
    if isa != "amx_bf16":
        logger.warning("--precision bf16 without AMX (CPU has %s only): expect it to be slower than "
                       "fp32 with --enable_mkldnn", isa)


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
        self.options = options
        self.input_shape = input_shape
        check_precision(options)
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
            device = f"GPU {opts.gpu_id}" + (", TensorRT" if opts.use_tensorrt else "")
        else:
            device = f"CPU, {opts.threads} threads, oneDNN {'on' if self.mkldnn else 'off'}"
        return (f"Paddle Inference ({os.path.basename(self.model_file)}), {device}, {opts.precision}, "
                f"ir_optim {'on' if opts.ir_optim else 'off'}")


class OnnxPredictor(Predictor):
    """ONNX Runtime session with all graph optimisations and a fixed intra-op thread count.

    Args:
        model_file: the ``.onnx`` file.
        options: runtime settings (fp32 only; ``use_gpu``/``use_tensorrt`` pick those providers).
    """

    backend = "onnxruntime"

    def __init__(self, model_file: str, options: PredictorOptions):
        import onnxruntime as ort

        if not os.path.isfile(model_file):
            raise ConfigError(f"--model_file not found: {model_file}")
        if options.precision != "fp32":
            raise ConfigError(f"--backend onnxruntime runs the fp32 ONNX model only, not "
                              f"{options.precision}; use --backend paddle for {options.precision}")
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
                f"{self.options.threads} intra-op threads, ORT_ENABLE_ALL, fp32")


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


def create_predictor(model_file: str, params_file: Optional[str] = None,
                     options: Optional[PredictorOptions] = None, backend: Optional[str] = None,
                     input_shape: Optional[Sequence[Optional[int]]] = None) -> Predictor:
    """A :class:`PaddlePredictor` or :class:`OnnxPredictor` for ``model_file``.

    Args:
        model_file: ``<name>.json``/``.pdmodel`` (or their directory), or ``<name>.onnx``.
        params_file: Paddle parameters (default: next to the model file).
        options: runtime settings (default: fp32 on CPU, all CPUs, oneDNN off).
        backend: ``paddle`` or ``onnxruntime``; default from the model file's extension.
        input_shape: ``[None, 3, F, H, W]`` (TensorRT shape ranges).
    """
    options = options or PredictorOptions()
    if infer_backend(model_file, backend) == "onnxruntime":
        return OnnxPredictor(model_file, options)
    return PaddlePredictor(model_file, params_file, options, input_shape)
