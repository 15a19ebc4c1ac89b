"""TokShift, TimeSformer and STTS video transformers for PaddlePaddle, in the PaddleVideo style.

Importing the package applies the CPU process setup (:mod:`paddlevideo.cpu`): eager threads, MKL's
CPU dispatch, Paddle's stride kernels and glibc's handling of freed memory. It runs here because
this is the last moment before Paddle is imported, when ``OMP_NUM_THREADS`` and
``MKL_DEBUG_CPU_TYPE`` can still act; every value is a default that the user's own environment
variable overrides, and ``PADDLEVIDEO_CPU_SETUP=0`` turns it off. Import ``paddlevideo`` before
``paddle`` (it warns when Paddle came first).
"""
from .cpu import setup_cpu

setup_cpu()
