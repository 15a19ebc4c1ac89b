"""Device selection, distributed context, seeding and mixed precision."""
import functools
import random
from contextlib import nullcontext
from typing import Callable, Optional, Tuple

import numpy as np
import paddle
import paddle.distributed as dist

from ..cpu import setup_cpu_device
from .gpu import AMP_MIN_CAPABILITY, amp_dtype_supported, format_capability, gpu_capability
from .logger import get_logger


def select_device() -> str:
    """GPU when Paddle is built with CUDA and sees one, else CPU (never hard-code 'gpu').

    Choosing the CPU also applies the CPU-only process settings (:func:`paddlevideo.cpu.setup_cpu_device`):
    this is the first moment the device is known, and on GPU those settings would only cost.
    """
    if paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0:
        return paddle.set_device(f"gpu:{dist.ParallelEnv().dev_id}")
    setup_cpu_device()
    return paddle.set_device("cpu")


def get_dist_info() -> Tuple[int, int]:
    """``(rank, world_size)``, as PaddleVideo's ``get_dist_info``."""
    return rank(), world_size()


def main_only(func: Callable) -> Callable:
    """Decorator: run ``func`` on rank 0 only (other ranks get None), as PaddleVideo's ``main_only``."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs) if rank() == 0 else None
    return wrapper


def world_size() -> int:
    return dist.get_world_size()


def rank() -> int:
    return dist.get_rank()


def any_rank(flag: bool) -> bool:
    """Whether ``flag`` holds on any rank; every rank gets the same answer (a collective only when
    there are several processes), so all of them take the same branch and none waits in an all-reduce."""
    if world_size() == 1:
        return flag
    value = paddle.to_tensor([int(flag)], dtype="int32")
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def init_distributed() -> bool:
    """Start the process group when launched with ``paddle.distributed.launch``; True if parallel."""
    if world_size() > 1:
        dist.init_parallel_env()
        return True
    return False


def set_seed(seed: Optional[int]) -> None:
    """Seed Python, numpy and Paddle (offset by rank so workers of different ranks differ)."""
    if seed is None:
        return
    seed = int(seed) + rank()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    paddle.seed(seed)


class Precision:
    """What ``--amp`` means on this device.

    GPU: ``auto_cast`` at level O1 or O2 in float16 (with a dynamic ``GradScaler``) or bfloat16 (no
    scaler: bf16 has float32's exponent range), where the GPU computes in that dtype (float16 from compute
    capability 7.0, bfloat16 from 8.0). Anywhere else: one warning, then float32 without loss scaling.
    Paddle itself would also run float32 there (``auto_cast`` warns, ``decorate`` does nothing), so
    ``enabled`` says whether low precision really runs and nothing claims otherwise.
    """

    def __init__(self, amp: bool, level: str = "O1", dtype: str = "float16"):
        if level not in ("O1", "O2"):
            raise ValueError(f"--amp_level must be O1 or O2, got {level}")
        if dtype not in ("float16", "bfloat16"):
            raise ValueError(f"--amp_dtype must be float16 or bfloat16, got {dtype}")
        self.level, self.dtype = level, dtype
        refusal = self.refusal(dtype, gpu_capability()) if amp else None
        self.enabled = bool(amp) and refusal is None
        if refusal:
            get_logger().warning("--amp requested but %s, so this run uses float32", refusal)
        elif self.enabled:
            get_logger().info("Training with AMP level %s (%s%s)", level, dtype,
                              ", dynamic loss scaling" if self.uses_scaler else "")

    @staticmethod
    def refusal(dtype: str, capability: Optional[Tuple[int, int]]) -> Optional[str]:
        """Why AMP in ``dtype`` cannot run on a device of this compute capability (None: it can).

        Args:
            dtype: ``float16`` or ``bfloat16``.
            capability: the GPU's ``(major, minor)``, None for no CUDA GPU.

        Returns:
            The reason, worded to follow "--amp requested but", or None.
        """
        if capability is None:
            return f"no GPU is in use ({paddle.get_device()}): Paddle AMP only acts on GPU/XPU"
        if amp_dtype_supported(dtype, capability):
            return None
        needed = format_capability(AMP_MIN_CAPABILITY[dtype])
        hint = "; --amp_dtype float16 runs on it" if amp_dtype_supported("float16", capability) else ""
        return (f"this GPU (compute capability {format_capability(capability)}) cannot compute in {dtype}, "
                f"which needs {needed} or newer{hint}")

    @property
    def uses_scaler(self) -> bool:
        return self.enabled and self.dtype == "float16"

    def decorate(self, model, optimizer=None):
        """O2 casts the model to the AMP dtype with float32 master weights; O1 leaves parameters alone."""
        if self.enabled and self.level == "O2":
            return paddle.amp.decorate(models=model, optimizers=optimizer, level="O2", dtype=self.dtype,
                                       master_weight=True, save_dtype="float32")
        return (model, optimizer) if optimizer is not None else model

    def autocast(self):
        return paddle.amp.auto_cast(level=self.level, dtype=self.dtype) if self.enabled else nullcontext()

    def scaler(self):
        return paddle.amp.GradScaler(init_loss_scaling=2.0**16) if self.uses_scaler else None
