"""The evaluation forward: the static program with oneDNN kernels computes what the eager model
computes (any batch size, several views, after the weights change), and falls back to eager when
Paddle's static path fails."""
import logging
from pathlib import Path

import numpy as np
import paddle
import pytest

from paddlevideo.modeling.builder import build_model
from paddlevideo.registry import ConfigError
from paddlevideo.tasks import eval_forward
from paddlevideo.tasks.eval_forward import EvalForward

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "recognition"


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


def test_static_equals_eager_for_every_batch_size_and_views(model):
    forward = EvalForward(model, "static", use_static=True)
    with paddle.no_grad():
        for batch, views in ((1, 1), (3, 1), (2, 3)):
            x = clips(batch, views, seed=batch)
            static = forward([x]).numpy()
            eager = model([x], mode="test").numpy()
            assert forward.static, "the static path fell back to eager"
            assert static.shape == (batch, 5) and np.ptp(eager) > 1e-2
            np.testing.assert_allclose(static, eager, rtol=1e-4, atol=1e-5)
    assert len(forward.programs) == 2  # one program per clip shape, any batch size


def test_the_program_sees_weights_changed_after_it_was_built(model):
    forward = EvalForward(model, "static", use_static=True)
    x = clips(2)
    with paddle.no_grad():
        before = forward([x]).numpy()
        weight = model.head.fc.weight
        weight.set_value(weight.numpy() * 2.0)
        after = forward([x]).numpy()
        np.testing.assert_allclose(after, model([x], mode="test").numpy(), rtol=1e-4, atol=1e-5)
    assert not np.allclose(before, after)


def test_auto_uses_the_program_only_for_wide_models_and_where_allowed(model):
    assert not EvalForward(model, "auto", use_static=True).static  # the tiny model: 64 wide
    model.backbone.embed_dim = eval_forward.AUTO_MIN_WIDTH
    assert EvalForward(model, "auto", use_static=True).static
    assert not EvalForward(model, "auto", use_static=False).static  # GPU or AMP
    assert not EvalForward(model, "eager", use_static=True).static
    with pytest.raises(ConfigError, match="eval_backend must be one of"):
        EvalForward(model, "fast", use_static=True)


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


def test_eager_training_does_not_see_the_onednn_flag(model):
    forward = EvalForward(model, "static", use_static=True)
    with paddle.no_grad():
        forward([clips(1)])
    assert paddle.get_flags(["FLAGS_use_onednn"])["FLAGS_use_onednn"] is False


@pytest.mark.parametrize("config", ["timesformer/demo_timesformer_tiny.yaml", "stts/demo_tokshift_tiny_stts.yaml"])
def test_static_equals_eager_for_the_other_families(config):
    """Divided space-time attention, and STTS's hard top-K selection, in the program as in eager."""
    from paddlevideo.utils.config import get_config

    cfg = get_config(str(CONFIGS / config), overrides=["MODEL.head.std=0.5"], show=False)
    paddle.seed(0)
    recognizer = build_model(cfg["MODEL"])
    recognizer.eval()
    size, frames = cfg["MODEL"]["backbone"]["img_size"], 2 * cfg["MODEL"]["backbone"]["num_seg"]
    x = paddle.to_tensor(np.random.default_rng(1).standard_normal((3, 3, frames, size, size)).astype("float32"))
    forward = EvalForward(recognizer, "static", use_static=True)
    with paddle.no_grad():
        static, eager = forward([x]).numpy(), recognizer([x], mode="test").numpy()
    assert forward.static
    np.testing.assert_allclose(static, eager, rtol=1e-4, atol=1e-5)
