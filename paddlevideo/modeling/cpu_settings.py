"""Process settings that eager Paddle needs to run fast on CPU, applied when the models are imported.

* Paddle 3's stride kernels are turned off (``FLAGS_use_stride_kernel``). With them, ``transpose`` and
  ``reshape`` return strided views on CPU and every later op on such a view runs a slow generic kernel:
  measured on this project's models, the tiny demo TokShift's forward took 1.4-4x and its training step
  1.25-1.7x as long, ViT-B 8x224's forward 1.4x (1.83 s vs 1.32 s) and training step 1.4x (7.9 s vs
  5.7 s). Values are unchanged (tested). Set it back with ``paddle.set_flags`` after import if you need
  views.
* glibc keeps freed tensor memory for reuse (:func:`keep_freed_memory`). Paddle's CPU allocator hands
  every tensor to ``malloc``/``free``, and glibc returned each large block to the system when it was
  freed, so the next large tensor page-faulted all its memory in again: 80-245 thousand page faults per
  ViT-B 8x224 training step, 0.3-1.3 s of system time. Keeping the blocks took the step from 4.1-4.5 s to
  3.6-4.0 s and the forward from 1.22-1.30 s to 1.16-1.21 s (2 threads, three alternating process pairs),
  for 5% more peak memory (3.09 -> 3.24 GB). A process that must return memory to the system (a
  long-lived server after one large batch) can set glibc's defaults back after import:
  ``mallopt(M_MMAP_THRESHOLD, 128 * 1024)`` and ``mallopt(M_TRIM_THRESHOLD, 128 * 1024)`` through ctypes.
"""
import ctypes

import paddle

# glibc <malloc.h> parameter numbers
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_KEEP_BYTES = 1 << 30


def keep_freed_memory() -> bool:
    """Let glibc reuse freed blocks of up to 1 GiB instead of unmapping them; False where the C library
    has no ``mallopt`` (not glibc) or refuses the values, and nothing changes then. A thread allocating
    from one of glibc's secondary arenas still gets blocks of 64 MiB and more mapped directly (an arena
    heap holds at most 64 MiB); ViT-B 8x224's largest per-clip tensors are 19 MiB.

    Both thresholds are raised: blocks below the mmap threshold come from the heap (freed ones are reused),
    and the heap is only trimmed when more than the trim threshold is free at its top.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library already loaded in this process
    except (OSError, TypeError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _KEEP_BYTES)) and bool(mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES))


def apply() -> None:
    """Both settings of this module (what importing :mod:`paddlevideo.modeling` does)."""
    paddle.set_flags({"FLAGS_use_stride_kernel": False})
    keep_freed_memory()
