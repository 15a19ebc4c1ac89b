"""The evaluation forward: which path a config and a process get, and the fallback to eager when Paddle's
static path raises. The static program itself is not run here: running to_static programs crashed the
test process now and then (Paddle 3.3.1, a segmentation fault in RunProgramImpl), which is also why it is
opt-in; its agreement with eager was measured by hand (README)."""
import logging

import numpy as np
import paddle
import pytest

from paddlevideo.errors import ConfigError
from paddlevideo.modeling.builder import build_model
from paddlevideo.tasks import eval_forward
from paddlevideo.tasks.eval_forward import EvalForward, build_eval_forward
from paddlevideo.utils.runtime import Precision


def clips(batch: int, views: int = 1, seed: int = 0) -> paddle.Tensor:
    x = np.random.default_rng(seed).standard_normal((batch, 3, 4 * views, 32, 32)).astype("float32")
    return paddle.to_tensor(x)


@pytest.fixture
def model(tiny_model_cfg):
    paddle.seed(0)
    tiny_model_cfg["head"]["std"] = 0.5  # logits that differ between clips
    recognizer = build_model(tiny_model_cfg)
    recognizer.eval()
    return recognizer


def test_auto_uses_the_program_only_for_wide_models_and_where_allowed(model):
    assert not EvalForward(model, "auto", use_static=True).static  # the tiny model: 64 wide
    model.backbone.embed_dim = eval_forward.AUTO_MIN_WIDTH
    assert EvalForward(model, "auto", use_static=True).static
    assert not EvalForward(model, "auto", use_static=False).static  # GPU or AMP
    assert not EvalForward(model, "eager", use_static=True).static
    with pytest.raises(ConfigError, match="eval_backend must be one of"):
        EvalForward(model, "fast", use_static=True)


def test_the_default_is_eager(model):
    assert not build_eval_forward(model, {}, Precision(False)).static
    assert build_eval_forward(model, {"eval_backend": "static"}, Precision(False)).static == \
        paddle.get_device().startswith("cpu")


class Messages(logging.Handler):
    """Collects the messages of the ``paddlevideo`` logger (which may not propagate to caplog)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_a_failing_static_path_falls_back_to_eager(model, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("oneDNN could not convert an attribute")

    monkeypatch.setattr(paddle.jit, "to_static", broken)
    forward, x, handler = EvalForward(model, "static", use_static=True), clips(2), Messages()
    logging.getLogger("paddlevideo").addHandler(handler)
    try:
        with paddle.no_grad():
            out = forward([x]).numpy()
            forward([x])
    finally:
        logging.getLogger("paddlevideo").removeHandler(handler)
    np.testing.assert_allclose(out, model([x], mode="test").numpy(), rtol=1e-6)
    assert not forward.static
    assert sum("continuing eagerly" in m for m in handler.messages) == 1, handler.messages
