"""Running averages and progress lines (batch i/N, throughput, ETA)."""
import time
from typing import Dict


class AverageMeter:
    """Sample-weighted running average."""

    def __init__(self):
        self.sum = 0.0
        self.count = 0
        self.val = 0.0

    def update(self, value: float, n: int = 1) -> None:
        self.val = float(value)
        self.sum += float(value) * n
        self.count += n

    @property
    def avg(self) -> float:
        return self.sum / max(self.count, 1)


class ProgressMeter:
    """Tracks loss/accuracy meters plus batch and data time for one pass over a loader."""

    def __init__(self, total_batches: int):
        self.total = total_batches
        self.meters: Dict[str, AverageMeter] = {}
        self.batch_time = AverageMeter()
        self.data_time = AverageMeter()
        self.samples = 0
        self.start = self.tick = time.time()

    def data_ready(self) -> None:
        self.data_time.update(time.time() - self.tick)

    def step(self, values: Dict[str, float], batch_size: int) -> None:
        now = time.time()
        self.batch_time.update(now - self.tick)
        self.tick = now
        self.samples += batch_size
        for name, value in values.items():
            self.meters.setdefault(name, AverageMeter()).update(value, batch_size)

    def eta_seconds(self, done: int, remaining_after: int = 0) -> float:
        """Seconds left for this pass plus ``remaining_after`` further batches."""
        return self.batch_time.avg * (self.total - done + remaining_after)

    def throughput(self) -> float:
        return self.samples / max(time.time() - self.start, 1e-9)

    def summary(self, batch_index: int, remaining_after: int = 0) -> str:
        vals = " ".join(f"{k}: {m.val:.5f}" for k, m in self.meters.items())
        return (f"batch {batch_index}/{self.total} {vals} batch_time: {self.batch_time.val:.3f}s "
                f"data_time: {self.data_time.val:.3f}s ips: {self.throughput():.2f} clips/s "
                f"eta: {format_seconds(self.eta_seconds(batch_index, remaining_after))}")

    def averages(self) -> Dict[str, float]:
        return {k: m.avg for k, m in self.meters.items()}


def format_seconds(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
