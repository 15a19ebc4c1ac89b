"""Device selection, distributed context, seeding and mixed precision."""
import functools
import random
from contextlib import nullcontext
from typing import Callable, Optional, Tuple

import numpy as np
import paddle
import paddle.distributed as dist

from .logger import get_logger


def select_device() -> str:
    """GPU when Paddle is built with CUDA and sees one, else CPU (never hard-code 'gpu')."""
    if paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0:
        return paddle.set_device(f"gpu:{dist.ParallelEnv().dev_id}")
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
    scaler: bf16 has float32's exponent range). CPU: one warning, then float32 -- Paddle's AMP only
    acts on GPU/XPU.
    """

    def __init__(self, amp: bool, level: str = "O1", dtype: str = "float16"):
        if level not in ("O1", "O2"):
            raise ValueError(f"--amp_level must be O1 or O2, got {level}")
        if dtype not in ("float16", "bfloat16"):
            raise ValueError(f"--amp_dtype must be float16 or bfloat16, got {dtype}")
        self.level, self.dtype = level, dtype
        self.enabled = bool(amp) and paddle.is_compiled_with_cuda() and "gpu" in paddle.get_device()
        if amp and not self.enabled:
            get_logger().warning("--amp requested but no GPU is in use (%s): Paddle AMP only acts on "
                                 "GPU/XPU, so this run uses float32", paddle.get_device())
        elif self.enabled:
            get_logger().info("Training with AMP level %s (%s%s)", level, dtype,
                              ", dynamic loss scaling" if self.uses_scaler else "")

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
