"""Latency bookkeeping for ``--benchmark`` and ``tools/benchmark/infer.py``: median / p90 per stage."""
import time
from collections import defaultdict
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List

import numpy as np


def latency_stats(seconds: List[float]) -> Dict[str, float]:
    """``{'n', 'median', 'p90', 'mean', 'min', 'max'}`` of a list of durations in seconds."""
    values = np.asarray(seconds, dtype=np.float64)
    if values.size == 0:
        return {"n": 0}
    return {"n": int(values.size), "median": float(np.median(values)),
            "p90": float(np.percentile(values, 90)), "mean": float(values.mean()),
            "min": float(values.min()), "max": float(values.max())}


class StageTimer:
    """Collects durations per named stage: ``with timer('inference'): ...``."""

    def __init__(self):
        self.times: Dict[str, List[float]] = defaultdict(list)

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.times[stage].append(time.perf_counter() - start)

    def summary(self) -> Dict[str, Dict[str, float]]:
        return {stage: latency_stats(values) for stage, values in self.times.items()}


def interleaved_timings(fns: Dict[str, Callable[[], object]], warmup: int, repeats: int,
                        pause: float = 0.0) -> Dict[str, List[float]]:
    """Time several callables round-robin: ``warmup`` untimed rounds, then ``repeats`` timed ones.

    Interleaving makes every candidate see the same background load, which on a shared machine
    matters more than any single run's noise. ``pause`` seconds of sleep before each timed call let
    the previous runtime's worker threads stop spin-waiting (Intel OpenMP spins 200 ms by default),
    which would otherwise steal the cores from the next candidate.

    Returns:
        name -> ``repeats`` durations in seconds.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    durations: Dict[str, List[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            time.sleep(pause)
            start = time.perf_counter()
            fn()
            durations[name].append(time.perf_counter() - start)
    return durations
