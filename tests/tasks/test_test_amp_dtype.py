"""``--test --amp --amp_dtype bfloat16`` evaluates under ``auto_cast`` in bfloat16 (it used float16), and
PaddleVideo's positional ``test_model`` call still works. A GPU that computes in the dtype is mocked:
``Precision`` enabled, ``paddle.amp.auto_cast`` recorded."""
from contextlib import nullcontext

import paddle
import pytest
from test_main import tiny_args

import main
from paddlevideo.config import get_config
from paddlevideo.modeling.builder import build_model
from paddlevideo.tasks import test as test_module
from paddlevideo.utils.runtime import Precision


class GpuPrecision(Precision):
    """``--amp`` as on a GPU that computes in ``dtype``."""

    def __init__(self, amp: bool, level: str = "O1", dtype: str = "float16"):
        super().__init__(False, level, dtype)
        self.enabled = bool(amp)


@pytest.fixture
def autocasts(monkeypatch):
    """The ``(level, dtype)`` of every ``paddle.amp.auto_cast`` while testing."""
    calls = []

    def auto_cast(level="O1", dtype="float16", **kwargs):
        calls.append((level, dtype))
        return nullcontext()

    monkeypatch.setattr(test_module, "Precision", GpuPrecision)
    monkeypatch.setattr(paddle.amp, "auto_cast", auto_cast)
    return calls


def untrained_weights(demo_data, out):
    """``main.py`` arguments of the tiny config, and a weights file of its freshly built model."""
    args = tiny_args(demo_data, out, epochs=1)
    parsed = main.parse_args(args)
    model = build_model(get_config(parsed.config, overrides=parsed.override, show=False)["MODEL"])
    paddle.save(model.state_dict(), str(out / "untrained.pdparams"))
    return args, str(out / "untrained.pdparams")


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_test_evaluates_in_the_requested_amp_dtype(demo_data, tmp_path, autocasts, dtype):
    args, weights = untrained_weights(demo_data, tmp_path)
    assert main.main(args + ["--test", "-w", weights, "--amp", "--amp_dtype", dtype]) == 0
    assert autocasts and set(autocasts) == {("O1", dtype)}


def test_paddlevideo_positional_call_keeps_float16(demo_data, tmp_path, autocasts):
    args, weights = untrained_weights(demo_data, tmp_path)
    parsed = main.parse_args(args)
    cfg = get_config(parsed.config, overrides=parsed.override, show=False)
    results = test_module.test_model(cfg, weights, True, True, "O2")
    assert results["scored"] == results["videos"]
    assert autocasts and set(autocasts) == {("O2", "float16")}
