"""TokShift, TimeSformer and STTS video transformers for PaddlePaddle, in the PaddleVideo style.

Importing the package applies the CPU process setup (:mod:`paddlevideo.cpu`): eager threads and MKL's
CPU dispatch. It runs here because this is the last moment before Paddle is imported, when
``OMP_NUM_THREADS`` and ``MKL_DEBUG_CPU_TYPE`` can still act; every value is a default that the user's
own environment variable overrides, and ``PADDLEVIDEO_CPU_SETUP=0`` turns it off. Import
``paddlevideo`` before ``paddle`` (it warns when Paddle came first). The settings that only help a
model on CPU (stride kernels off, glibc keeping freed memory) follow when the device is chosen
(``utils.runtime.select_device``, ``paddlevideo.cpu.setup_cpu_device``).
"""
from .cpu import setup_cpu

setup_cpu()
