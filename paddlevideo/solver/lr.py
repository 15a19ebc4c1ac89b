"""Learning-rate schedules stepped once per iteration, with linear warm-up.

Milestones and warm-up are given in epochs (as in PaddleVideo and the official configs) and converted
to iterations, so warm-up ramps smoothly instead of in per-epoch jumps.
"""
import math
from typing import List

from paddle.optimizer.lr import LRScheduler

from ..registry import LRSCHEDULERS


class WarmupScheduler(LRScheduler):
    """Linear warm-up from ``warmup_start_lr`` over ``warmup_epochs``, then :meth:`after_warmup`."""

    def __init__(self, learning_rate: float, iters_per_epoch: int, warmup_epochs: float = 0.0,
                 warmup_start_lr: float = 0.0):
        if learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
        if warmup_epochs < 0:
            raise ValueError(f"warmup_epochs must be >= 0, got {warmup_epochs}")
        self.iters_per_epoch = max(int(iters_per_epoch), 1)
        self.warmup_iters = int(round(warmup_epochs * self.iters_per_epoch))
        self.warmup_start_lr = warmup_start_lr
        super().__init__(learning_rate)

    def get_lr(self) -> float:
        it = self.last_epoch  # paddle's counter; here it counts iterations
        if it < self.warmup_iters:
            return self.warmup_start_lr + (self.base_lr - self.warmup_start_lr) * it / self.warmup_iters
        return self.after_warmup(it)

    def after_warmup(self, it: int) -> float:
        raise NotImplementedError


@LRSCHEDULERS.register()
class MultiStepDecay(WarmupScheduler):
    """``learning_rate * gamma**k`` after the k-th milestone epoch."""

    def __init__(self, learning_rate: float, milestones: List[int], iters_per_epoch: int,
                 gamma: float = 0.1, warmup_epochs: float = 0.0, warmup_start_lr: float = 0.0):
        if list(milestones) != sorted(milestones):
            raise ValueError(f"milestones must be increasing, got {milestones}")
        self.milestone_iters = [int(m * max(int(iters_per_epoch), 1)) for m in milestones]
        self.gamma = gamma
        super().__init__(learning_rate, iters_per_epoch, warmup_epochs, warmup_start_lr)

    def after_warmup(self, it: int) -> float:
        return self.base_lr * self.gamma ** sum(it >= m for m in self.milestone_iters)


@LRSCHEDULERS.register()
class CosineAnnealingDecay(WarmupScheduler):
    """Cosine from ``learning_rate`` to ``eta_min`` over the epochs after warm-up."""

    def __init__(self, learning_rate: float, iters_per_epoch: int, epochs: int, eta_min: float = 0.0,
                 warmup_epochs: float = 0.0, warmup_start_lr: float = 0.0):
        self.total_iters = max(int(epochs) * max(int(iters_per_epoch), 1), 1)
        self.eta_min = eta_min
        super().__init__(learning_rate, iters_per_epoch, warmup_epochs, warmup_start_lr)

    def after_warmup(self, it: int) -> float:
        span = max(self.total_iters - self.warmup_iters, 1)
        progress = min((it - self.warmup_iters) / span, 1.0)
        return self.eta_min + (self.base_lr - self.eta_min) * 0.5 * (1 + math.cos(math.pi * progress))
