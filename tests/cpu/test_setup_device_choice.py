"""The CPU-only settings (stride kernels off, glibc keeping freed memory) follow the device choice:
``select_device()`` applies them when it picks the CPU and leaves them alone when it picks a GPU.

The GPU is mocked (Paddle reports CUDA and one device, ``set_device`` only records), and so are
``paddle.set_flags`` and ``keep_freed_memory``, so nothing in this test process changes."""
from types import SimpleNamespace

import paddle
import pytest

from paddlevideo.cpu import setup as cpu_setup
from paddlevideo.cpu.plan import plan_cpu_setup
from paddlevideo.utils import runtime


@pytest.fixture
def recorded(monkeypatch):
    """Fresh "not applied yet" state; what select_device sets, flags and calls is recorded."""
    calls = {"flags": [], "mallopt": 0, "device": []}
    monkeypatch.setitem(cpu_setup._state, "cpu_device", False)
    monkeypatch.setattr(paddle, "set_flags", lambda flags: calls["flags"].append(dict(flags)))
    monkeypatch.setattr(paddle, "set_device", lambda device: calls["device"].append(device) or device)

    def keep_freed_memory():
        calls["mallopt"] += 1
        return True

    monkeypatch.setattr(cpu_setup, "keep_freed_memory", keep_freed_memory)
    return calls


def mock_cuda(monkeypatch, gpus: int) -> None:
    monkeypatch.setattr(paddle, "is_compiled_with_cuda", lambda: gpus > 0)
    monkeypatch.setattr(paddle.device.cuda, "device_count", lambda: gpus)
    monkeypatch.setattr(runtime.dist, "ParallelEnv", lambda: SimpleNamespace(dev_id=0))  # CPU builds have no GPU id


def test_a_gpu_run_gets_neither_the_stride_flag_nor_mallopt(monkeypatch, recorded):
    mock_cuda(monkeypatch, gpus=1)
    assert runtime.select_device() == "gpu:0"
    assert recorded == {"flags": [], "mallopt": 0, "device": ["gpu:0"]}


def test_a_cpu_run_gets_both_once(monkeypatch, recorded):
    mock_cuda(monkeypatch, gpus=0)
    monkeypatch.setitem(cpu_setup._state, "plan", plan_cpu_setup("", {}, 2, None))
    assert runtime.select_device() == "cpu"
    runtime.select_device()
    assert recorded == {"flags": [{"FLAGS_use_stride_kernel": False}], "mallopt": 1, "device": ["cpu", "cpu"]}


def test_a_cuda_build_without_a_visible_gpu_is_a_cpu_run(monkeypatch, recorded):
    mock_cuda(monkeypatch, gpus=0)
    monkeypatch.setattr(paddle, "is_compiled_with_cuda", lambda: True)
    monkeypatch.setitem(cpu_setup._state, "plan", plan_cpu_setup("", {}, 2, None))
    assert runtime.select_device() == "cpu"
    assert recorded["flags"] == [{"FLAGS_use_stride_kernel": False}] and recorded["mallopt"] == 1


def test_the_users_flag_and_the_opt_out_are_respected(monkeypatch, recorded):
    mock_cuda(monkeypatch, gpus=0)
    users_flag = plan_cpu_setup("", {"FLAGS_use_stride_kernel": "1"}, 2, None)
    monkeypatch.setitem(cpu_setup._state, "plan", users_flag)
    runtime.select_device()
    assert recorded["flags"] == [] and recorded["mallopt"] == 1  # Paddle read the user's value at import
    monkeypatch.setitem(cpu_setup._state, "cpu_device", False)
    monkeypatch.setitem(cpu_setup._state, "plan", plan_cpu_setup("", {"PADDLEVIDEO_CPU_SETUP": "0"}, 2, None))
    runtime.select_device()
    assert recorded["flags"] == [] and recorded["mallopt"] == 1
