"""The forward of an evaluation pass (validation and ``--test``): the eager model, or on CPU the same
model as a static program that Paddle runs with oneDNN kernels.

Why: Paddle's eager CPU ops never reach oneDNN (no flag routes them), but a ``paddle.jit.to_static``
program run with ``FLAGS_use_onednn`` computes matmul, softmax, GELU and LayerNorm in oneDNN, which
chooses its kernels by instruction set rather than by CPU vendor. Building the program costs seconds
once per input shape: a large model's evaluation repays that, the tiny demo model's does not (README,
"CPU speed"). ``eval_backend`` in the config chooses: ``eager`` (the default), ``static``, or ``auto``
(static on CPU for backbones at least AUTO_MIN_WIDTH wide). The static path is opt-in because running
such programs crashed the process now and then in Paddle 3.3.1 (a segmentation fault inside
``RunProgramImpl``, seen once in six runs of the test suite), which no fallback can catch. The program
shares the model's parameters, so a validation after more training sees the new weights; if building
or running it raises, the pass warns once and continues eagerly.
"""
import contextlib
import warnings
from typing import Callable, Dict, List, Tuple

import paddle
from paddle import nn

from ..errors import ConfigError
from ..utils.logger import get_logger

BACKENDS = ("auto", "eager", "static")
AUTO_MIN_WIDTH = 384


class ViewsForward(nn.Layer):
    """``forward(self, imgs) -> logits``: the recognizer's test path with one tensor in and out, as
    ``to_static`` needs it."""

    def __init__(self, recognizer: nn.Layer):
        super().__init__()
        self.recognizer = recognizer

    def forward(self, imgs: paddle.Tensor) -> paddle.Tensor:
        """``[B, C, V*T, H, W]`` -> ``[B, K]`` (the V views combined)."""
        return self.recognizer.forward_views(imgs)


@contextlib.contextmanager
def onednn_kernels():
    """``FLAGS_use_onednn`` on while a static program runs (eager training never sees it)."""
    previous = paddle.get_flags(["FLAGS_use_onednn"])["FLAGS_use_onednn"]
    paddle.set_flags({"FLAGS_use_onednn": True})
    try:
        yield
    finally:
        paddle.set_flags({"FLAGS_use_onednn": previous})


class EvalForward:
    """``inputs -> logits`` for :func:`~paddlevideo.tasks.evaluate.evaluate`.

    Args:
        recognizer: the model (not its ``DataParallel`` wrapper: an evaluation forward needs no
            gradient synchronisation).
        backend: ``eager``, ``static`` or ``auto``.
        use_static: whether this process can use the static path at all (CPU, no AMP).
    """

    def __init__(self, recognizer: nn.Layer, backend: str, use_static: bool):
        if backend not in BACKENDS:
            raise ConfigError(f"eval_backend must be one of {list(BACKENDS)}, got '{backend}'")
        self.recognizer = recognizer
        wide = getattr(recognizer.backbone, "embed_dim", 0) >= AUTO_MIN_WIDTH
        self.static = use_static and (backend == "static" or (backend == "auto" and wide))
        self.programs: Dict[Tuple[int, ...], Callable] = {}

    @property
    def name(self) -> str:
        return "static program with oneDNN kernels" if self.static else "eager"

    def __call__(self, inputs: List[paddle.Tensor]) -> paddle.Tensor:
        if self.static:
            try:
                with onednn_kernels(), warnings.catch_warnings():
                    # tracing reads ``.place`` (token shift padding), which PIR values lack; harmless
                    warnings.filterwarnings("ignore", message="Tensor do not have 'place' interface")
                    return self._program(inputs[0])(inputs[0])
            except Exception as err:  # noqa: BLE001  (any failure of Paddle's static path: eager still works)
                get_logger().warning("evaluation: the static program failed (%s: %s); continuing eagerly",
                                     type(err).__name__, str(err).splitlines()[0] if str(err) else "")
                self.static = False
        return self.recognizer(inputs, mode="test")

    def _program(self, imgs: paddle.Tensor) -> Callable:
        """The program for this clip shape (any batch size), built on first use."""
        key = tuple(imgs.shape[1:])
        if key not in self.programs:
            spec = paddle.static.InputSpec([None, *key], imgs.dtype, "imgs")
            self.programs[key] = paddle.jit.to_static(ViewsForward(self.recognizer), input_spec=[spec],
                                                      full_graph=True)
        return self.programs[key]


def build_eval_forward(model: nn.Layer, cfg: Dict, precision) -> EvalForward:
    """The run's evaluation forward from ``cfg['eval_backend']`` (default ``eager``); the static path
    only on CPU without AMP (Paddle's AMP acts on GPU, where oneDNN does not)."""
    recognizer = getattr(model, "_layers", model)  # inside paddle.DataParallel
    on_cpu = paddle.get_device().startswith("cpu")
    backend = cfg.get("eval_backend", "eager")
    forward = EvalForward(recognizer, backend, use_static=on_cpu and not precision.enabled)
    get_logger().info("evaluation forward: %s (eval_backend: %s)", forward.name, backend)
    return forward
