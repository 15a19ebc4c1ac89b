"""The CPU process setup: threads, MKL's CPU dispatch, Paddle's stride kernels and glibc's handling of
freed memory, decided in one pure function (:mod:`.plan`) and applied in one place (:mod:`.setup`).

    import paddlevideo                        # applies it (before Paddle is imported)
    from paddlevideo.cpu import setup_cpu
    print(setup_cpu().summary())              # what was chosen, and why

Paddle-free: it must run before ``import paddle``.
"""
from .setup import keep_freed_memory, limit_worker_threads, one_opencv_thread_for_workers, setup_cpu, variables_set

__all__ = ["keep_freed_memory", "limit_worker_threads", "one_opencv_thread_for_workers", "setup_cpu",
           "variables_set"]
