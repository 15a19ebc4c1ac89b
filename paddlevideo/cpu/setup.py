"""Apply the CPU process setup (:mod:`.plan`) to this process: the one place that owns it.

``import paddlevideo`` calls :func:`setup_cpu` because that is the last moment before Paddle is imported
(and ``OMP_NUM_THREADS`` can still act); everything it sets is a default that a variable the user set
overrides, and ``PADDLEVIDEO_CPU_SETUP=0`` turns it off. A tool with a ``--threads`` option calls
``setup_cpu(threads=N)`` before its first Paddle import.

The settings that only help a model running on CPU -- Paddle's stride kernels off, glibc keeping freed
memory -- wait for :func:`setup_cpu_device`, which the code that chooses the device calls
(``select_device()`` in ``paddlevideo/utils/runtime.py``, ``tools/predict.py`` without ``--use_gpu``):
at import the device is not known yet, and on GPU they would only cost (views copied on the GPU; the
allocator settings inherited by every data-loading worker).
"""
import ctypes
import dataclasses
import os
import sys
from typing import Dict, Optional

from ..utils.logger import get_logger
from .cpuinfo import read_cpuinfo_text
from .plan import MKL_CPU_TYPE, CpuPlan, plan_cpu_setup
from .resources import affinity_count, cgroup_cpu_quota

LOGGER = get_logger()
# glibc <malloc.h> parameter numbers
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_KEEP_BYTES = 1 << 30

_state: Dict[str, object] = {"plan": None, "ours": {}, "cpu_device": False}


def setup_cpu(threads: Optional[int] = None) -> CpuPlan:
    """Set this process up for fast eager Paddle on CPU (once; again when ``threads`` is given).

    Args:
        threads: eager CPU threads, overriding the environment (None: the user's ``OMP_NUM_THREADS``
            if set, else the cores this process may use divided among the ranks on this host).

    Returns:
        The plan that was applied; ``plan.summary()`` is the line entry points log at start.
    """
    plan = _state["plan"]
    if plan is not None and threads is None:
        return plan
    paddle_first = "paddle" in sys.modules
    plan = plan_cpu_setup(read_cpuinfo_text(), _user_environment(paddle_first), affinity_count(),
                          cgroup_cpu_quota(), threads)
    if plan.enabled:
        plan = _apply(plan, paddle_first)
    _state["plan"] = plan
    return plan


def setup_cpu_device() -> bool:
    """Apply the settings that only help a model running on CPU: the plan's Paddle flags (stride kernels
    off) and glibc keeping freed memory (:func:`keep_freed_memory`). Call it where the model's device is
    chosen, once that is the CPU; later calls do nothing.

    Why not at import: the device is not known then, and on GPU both settings only cost -- views become
    copies on the GPU, and every data-loading worker inherits the allocator thresholds. Paddle reads its
    flags at each op, so setting them after ``import paddle`` still acts.

    Returns:
        True if the settings were applied now; False if the user opted out or they already were.
    """
    plan = setup_cpu()
    if not plan.enabled or _state["cpu_device"]:
        return False
    if plan.cpu_flags:
        import paddle

        paddle.set_flags(plan.cpu_flags)
    keep_freed_memory()
    _state["cpu_device"] = True
    return True


def variables_set() -> Dict[str, str]:
    """The environment variables the setup set in this process (not the user's): a benchmark takes
    them out of the environment of a baseline's process that should run with the shell's defaults."""
    return {k: v for k, v in _state["ours"].items() if os.environ.get(k) == v}


def keep_freed_memory() -> bool:
    """Let glibc reuse freed blocks of up to 1 GiB instead of unmapping them; False where the C library
    has no ``mallopt`` (not glibc) or refuses the values, and nothing changes then.

    Why: Paddle's CPU allocator hands every tensor to ``malloc``/``free``, and glibc returned each large
    block to the system when it was freed, so the next large tensor page-faulted all its memory in
    again. Both thresholds are raised: blocks below the mmap threshold come from the heap (freed ones
    are reused), and the heap is only trimmed when more than the trim threshold is free at its top. A
    thread allocating from one of glibc's secondary arenas still gets blocks of 64 MiB and more mapped
    directly (an arena heap holds at most 64 MiB). A long-lived server that must give memory back after
    one large batch can set glibc's defaults again with ``mallopt`` (128 KiB for both).
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library already loaded in this process
    except (OSError, TypeError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _KEEP_BYTES)) and bool(mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES))


def one_opencv_thread_for_workers() -> None:
    """In the main process, before data-loading workers are forked: OpenCV runs one thread, here and
    (inherited) in every worker, so that N workers and the model's threads do not oversubscribe the
    cores. It must happen before the fork: ``cv2.setNumThreads`` inside a forked worker deadlocked
    (OpenCV's thread pool does not survive ``fork``). The decoders already run one thread each
    (``loader/pipelines/decode.py``)."""
    import cv2

    cv2.setNumThreads(1)


def limit_worker_threads() -> None:
    """In a forked data-loading worker: one OpenMP/MKL thread. The OpenMP runtime starts again in a
    forked child and reads the variables then (verified: a GEMM in such a worker ran one thread)."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"


def _user_environment(paddle_first: bool) -> Dict[str, str]:
    """The environment without the values this module set (so a new plan may change them) and without
    Paddle's own ``OMP_NUM_THREADS=1`` when Paddle was imported first and the user did not set it."""
    ours = _state["ours"]
    environ = {k: v for k, v in os.environ.items() if ours.get(k) != v}
    if paddle_first and environ.get("OMP_NUM_THREADS") == "1" and "OMP_NUM_THREADS" not in _launch_environment():
        del environ["OMP_NUM_THREADS"]
    return environ


def _launch_environment() -> Dict[str, str]:
    """The environment the process was started with (``/proc/self/environ``; empty off Linux)."""
    try:
        with open("/proc/self/environ", "rb") as handle:
            items = handle.read().split(b"\0")
    except OSError:
        return {}
    return dict(item.decode("utf-8", "replace").partition("=")[::2] for item in items if b"=" in item)


def _apply(plan: CpuPlan, paddle_first: bool) -> CpuPlan:
    if paddle_first:
        plan = _after_paddle(plan)
    for name, value in plan.env.items():
        os.environ[name] = value
        _state["ours"][name] = value
    return plan


def _after_paddle(plan: CpuPlan) -> CpuPlan:
    """Paddle was imported first: it has fixed its threads, so leave them (a changed variable would only
    mislead) and say so."""
    env = dict(plan.env)
    if env.pop("OMP_NUM_THREADS", None) is not None and plan.threads > 1:
        LOGGER.warning("Paddle was imported before paddlevideo, so its eager CPU ops keep Paddle's one "
                       "thread instead of %d; import paddlevideo first, or set OMP_NUM_THREADS=%d before "
                       "starting Python", plan.threads, plan.threads)
        plan = dataclasses.replace(plan, threads=1, threads_reason="Paddle was imported before paddlevideo")
    if MKL_CPU_TYPE in env:
        LOGGER.warning("Paddle was imported before paddlevideo: %s=%s only acts if no Paddle op has run "
                       "yet; import paddlevideo first", MKL_CPU_TYPE, env[MKL_CPU_TYPE])
    return dataclasses.replace(plan, env=env)
