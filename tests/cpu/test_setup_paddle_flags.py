"""The Paddle side of the CPU setup (``paddlevideo/cpu/setup.py``) in this process, once the CPU is chosen:
Paddle's CPU stride kernels off (they made our models 1.3-4x slower; the logits and gradients do not depend
on it) and freed memory kept for reuse."""
import resource

import numpy as np
import paddle
import pytest

from paddlevideo.cpu import keep_freed_memory
from paddlevideo.modeling.builder import build_model
from paddlevideo.utils.runtime import select_device


def forward_backward(cfg, x):
    paddle.seed(0)
    model = build_model(cfg)
    loss = model([x, paddle.zeros([x.shape[0]], "int64")], mode="train")["loss"]
    loss.backward()
    return float(loss), model.backbone.blocks[0].attn.qkv.weight.grad.numpy()


def test_choosing_the_cpu_turns_stride_kernels_off():
    select_device()  # the CPU: the suite runs without GPU
    assert paddle.get_flags(["FLAGS_use_stride_kernel"])["FLAGS_use_stride_kernel"] is False
    x = paddle.ones([3, 4])
    assert x.transpose([1, 0]).is_contiguous()  # Paddle reads the flag at each op: no strided view


def test_results_do_not_depend_on_the_flag(tiny_model_cfg):
    x = paddle.to_tensor(np.random.default_rng(0).standard_normal((2, 3, 4, 32, 32)).astype("float32"))
    try:
        paddle.set_flags({"FLAGS_use_stride_kernel": True})
        strided = forward_backward(tiny_model_cfg, x)
    finally:
        paddle.set_flags({"FLAGS_use_stride_kernel": False})
    contiguous = forward_backward(tiny_model_cfg, x)
    assert abs(strided[0] - contiguous[0]) < 1e-6
    np.testing.assert_allclose(strided[1], contiguous[1], rtol=1e-5, atol=1e-7)


def page_faults_of(fn) -> int:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    fn()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_a_freed_large_tensor_is_reused_without_page_faults():
    """A 16 MiB tensor allocated again after being freed costs (almost) no page faults: glibc kept the
    block instead of unmapping it (without the setting: 4097 faults per allocation, every time, on the
    development machine with Debian's glibc 2.36). Not larger: a thread that allocates from one of
    glibc's secondary arenas gets blocks of 64 MiB and more mapped directly whatever the threshold, which
    made a 64 MiB version of this test fail once in a full run."""
    if not keep_freed_memory():
        pytest.skip("the C library has no mallopt (not glibc)")
    pages = 16 * 2**20 // resource.getpagesize()

    def allocate_and_free():
        tensor = paddle.ones([4 * 2**20], dtype="float32")  # writes every page
        del tensor

    allocate_and_free()
    # The fewest of three: the count is the whole process's, and Paddle's own threads allocate too.
    faults = min(page_faults_of(allocate_and_free) for _ in range(3))
    assert faults < pages // 10, f"{faults} page faults for {pages} pages"
