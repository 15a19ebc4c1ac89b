"""``Precision``: AMP is promised (and loss-scaled) only where the GPU computes in the requested dtype."""
from contextlib import nullcontext

import paddle
import pytest

from paddlevideo.utils import runtime
from paddlevideo.utils.runtime import Precision


def on_gpu(monkeypatch, capability):
    monkeypatch.setattr(runtime, "gpu_capability", lambda: capability)


@pytest.mark.parametrize("capability,dtype,enabled,scaled", [
    ((7, 0), "float16", True, True), ((7, 5), "float16", True, True), ((8, 0), "float16", True, True),
    ((8, 0), "bfloat16", True, False), ((9, 0), "bfloat16", True, False),
    ((7, 0), "bfloat16", False, False), ((7, 5), "bfloat16", False, False), ((6, 1), "float16", False, False),
    (None, "float16", False, False), (None, "bfloat16", False, False)])
def test_enabled_and_scaler_tell_what_runs(monkeypatch, log_lines, capability, dtype, enabled, scaled):
    on_gpu(monkeypatch, capability)
    precision = Precision(True, "O1", dtype)
    assert (precision.enabled, precision.uses_scaler) == (enabled, scaled)
    assert len(log_lines) == 1
    assert log_lines[0].startswith("Training with AMP" if enabled else "--amp requested but")
    if not enabled:
        assert log_lines[0].endswith("so this run uses float32")
        assert precision.scaler() is None
        assert isinstance(precision.autocast(), nullcontext)


def test_bfloat16_on_a_t4_names_the_card_and_the_dtype_that_runs(monkeypatch, log_lines):
    on_gpu(monkeypatch, (7, 5))
    Precision(True, "O2", "bfloat16")
    assert log_lines == ["--amp requested but this GPU (compute capability 7.5) cannot compute in bfloat16, "
                         "which needs 8.0 or newer; --amp_dtype float16 runs on it, so this run uses float32"]


def test_float16_on_a_pascal_card_has_no_hint(monkeypatch, log_lines):
    on_gpu(monkeypatch, (6, 1))
    Precision(True, "O1", "float16")
    assert log_lines == ["--amp requested but this GPU (compute capability 6.1) cannot compute in float16, "
                         "which needs 7.0 or newer, so this run uses float32"]


def test_refused_o2_leaves_the_model_in_float32(monkeypatch, log_lines):
    on_gpu(monkeypatch, (7, 0))
    model = paddle.nn.Linear(2, 2)
    assert Precision(True, "O2", "bfloat16").decorate(model) is model
    assert model.weight.dtype == paddle.float32


def test_no_amp_says_nothing(monkeypatch, log_lines):
    on_gpu(monkeypatch, (7, 0))
    precision = Precision(False, "O1", "bfloat16")
    assert not precision.enabled and not precision.uses_scaler and log_lines == []
