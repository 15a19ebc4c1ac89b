"""Device facts of ``paddlevideo.utils.gpu``: pure functions of the compute capability, so no GPU is needed."""
import paddle
import pytest

from paddlevideo.utils import gpu

CARDS = {None: "CPU", (6, 1): "P40", (7, 0): "V100", (7, 5): "T4", (8, 0): "A100", (8, 9): "L4",
         (9, 0): "H100", (12, 2): "newer than Paddle 3.3.1 knows"}


@pytest.mark.parametrize("capability,float16,bfloat16", [
    (None, False, False), ((6, 1), False, False), ((7, 0), True, False), ((7, 5), True, False),
    ((8, 0), True, True), ((9, 0), True, True)])
def test_amp_dtypes_follow_paddles_auto_cast_limits(capability, float16, bfloat16):
    assert gpu.amp_dtype_supported("float16", capability) is float16, CARDS[capability]
    assert gpu.amp_dtype_supported(paddle.float16, capability) is float16
    assert gpu.amp_dtype_supported("bfloat16", capability) is bfloat16
    assert gpu.amp_dtype_supported(paddle.bfloat16, capability) is bfloat16
    assert not gpu.amp_dtype_supported("float32", capability)


@pytest.mark.parametrize("capability,supported", [
    (None, False), ((6, 1), False), ((7, 0), False), ((7, 5), False), ((8, 0), True), ((8, 9), True),
    ((9, 0), True), ((12, 2), False)])
def test_flash_attention_needs_ampere_and_half_precision(capability, supported):
    for dtype in ("float16", paddle.float16, "bfloat16", paddle.bfloat16):
        assert gpu.flash_attention_supported(dtype, capability) is supported, (CARDS[capability], dtype)
    assert not gpu.flash_attention_supported(paddle.float32, capability)


def test_gpu_capability_is_none_on_cpu(monkeypatch):
    monkeypatch.setattr(paddle, "get_device", lambda: "cpu")
    assert gpu.gpu_capability() is None


def test_gpu_capability_asks_about_the_current_gpu(monkeypatch):
    asked = []
    monkeypatch.setattr(paddle, "is_compiled_with_cuda", lambda: True)
    monkeypatch.setattr(paddle, "get_device", lambda: "gpu:1")
    monkeypatch.setattr(paddle.device.cuda, "get_device_capability", lambda device: asked.append(device) or (7, 5))
    assert gpu.gpu_capability() == (7, 5)
    assert asked == [1]
    monkeypatch.setattr(paddle, "get_device", lambda: "xpu:0")
    assert gpu.gpu_capability() is None


def test_format_capability():
    assert gpu.format_capability((7, 5)) == "7.5"
    assert gpu.format_capability(None) == "no CUDA GPU"
