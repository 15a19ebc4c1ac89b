"""The CPU process setup: threads, MKL's CPU dispatch, Paddle's stride kernels and glibc's handling of
freed memory, decided in one pure function (:mod:`.plan`) and applied in one place (:mod:`.setup`).

    import paddlevideo                        # threads and MKL's dispatch (before Paddle is imported)
    from paddlevideo.cpu import setup_cpu, setup_cpu_device
    print(setup_cpu().summary())              # what was chosen, and why
    setup_cpu_device()                        # once the model is known to run on CPU

Paddle-free at import: it must run before ``import paddle``.
"""
from .setup import (
    keep_freed_memory,
    limit_worker_threads,
    one_opencv_thread_for_workers,
    setup_cpu,
    setup_cpu_device,
    variables_set,
)

__all__ = ["keep_freed_memory", "limit_worker_threads", "one_opencv_thread_for_workers", "setup_cpu",
           "setup_cpu_device", "variables_set"]
