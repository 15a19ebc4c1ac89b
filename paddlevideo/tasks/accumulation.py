"""Gradient accumulation: how many micro-batches make one update, and how each is weighted.

``GRADIENT_ACCUMULATION.global_batch_size`` (PaddleVideo's key) is the number of clips per update over
all processes. An epoch of ``n`` micro-batches is cut into groups of ``k``; the last group may be
shorter, and its micro-batches are weighted by ``1 / its size`` -- so every update is the mean over
the clips it really saw, not an under-weighted fraction of it.
"""
from typing import Dict

from ..errors import ConfigError

SECTION_KEYS = {"global_batch_size"}


def accumulation_steps(cfg: Dict, batch_size: int, world_size: int) -> int:
    """Micro-batches per update (1 when the section is absent).

    Raises:
        ConfigError: an unknown key in the section, or a global batch that is not a whole number of
            ``batch_size x world_size`` micro-batches.
    """
    section = cfg.get("GRADIENT_ACCUMULATION") or {}
    unknown = set(section) - SECTION_KEYS
    if unknown:
        raise ConfigError(f"GRADIENT_ACCUMULATION: unknown key(s) {sorted(unknown)}; accepted: "
                          f"{sorted(SECTION_KEYS)}")
    global_bs = section.get("global_batch_size")
    if not global_bs:
        return 1
    per_step = batch_size * world_size
    if isinstance(global_bs, bool) or not isinstance(global_bs, int) or global_bs % per_step:
        raise ConfigError(f"GRADIENT_ACCUMULATION.global_batch_size ({global_bs!r}) must be a multiple of "
                          f"batch_size x processes ({batch_size} x {world_size})")
    return global_bs // per_step


class AccumulationGroups:
    """Group structure of an epoch of ``num_batches`` micro-batches, ``steps`` per update."""

    def __init__(self, num_batches: int, steps: int):
        self.num_batches, self.steps = num_batches, steps

    def updates_per_epoch(self) -> int:
        return -(-self.num_batches // self.steps)

    def closes_group(self, batch: int) -> bool:
        """Whether the update happens after micro-batch ``batch`` (0-based)."""
        return (batch + 1) % self.steps == 0 or batch + 1 == self.num_batches

    def weight(self, batch: int) -> float:
        """Loss weight of micro-batch ``batch``: one over the size of its group."""
        group_start = batch - batch % self.steps
        return 1.0 / min(self.steps, self.num_batches - group_start)
