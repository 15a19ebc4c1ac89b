"""How many CPUs this process may use: its CPU affinity and its cgroup's CPU quota (a container's
``--cpus``), read from the kernel. ``os.cpu_count()`` counts the machine's CPUs and ignores both."""
import math
import os
from pathlib import Path
from typing import Iterator, List, Optional

CGROUP_ROOT = "/sys/fs/cgroup"
SELF_CGROUP = "/proc/self/cgroup"


def affinity_count() -> int:
    """CPUs in this process's affinity mask (``taskset``, ``numactl``, a batch scheduler's binding)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def cgroup_cpu_quota(root: str = CGROUP_ROOT, self_cgroup: str = SELF_CGROUP) -> Optional[float]:
    """CPUs' worth of time per period that this process's cgroup (or one above it) allows: 1.5 for
    ``cpu.max = "150000 100000"``; None when there is no quota or no cgroup file can be read.

    cgroup v2 reads ``cpu.max``, v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``; the smallest quota
    on the path from the process's cgroup to the root wins, as the kernel enforces it.
    """
    limits = [limit for directory in _cgroup_dirs(Path(root), self_cgroup)
              if (limit := _quota_in(directory)) is not None]
    return min(limits) if limits else None


def usable_cores(affinity: int, quota: Optional[float]) -> int:
    """The cores a process with ``affinity`` CPUs and a ``quota`` (CPUs, or None) can keep busy."""
    cores = affinity if quota is None else min(affinity, math.ceil(quota))
    return max(1, cores)


def _cgroup_dirs(root: Path, self_cgroup: str) -> Iterator[Path]:
    """The process's cgroup directories and their ancestors, for v2 and for v1's cpu controller.
    In a container the recorded path may be the host's, so the mount's root is always included."""
    for line in _read_lines(self_cgroup):
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            mounts = [root]
        elif "cpu" in controllers.split(","):
            mounts = [root / "cpu,cpuacct", root / "cpu"]
        else:
            continue
        for mount in mounts:
            directory = mount / path.strip().lstrip("/")
            while directory != mount and mount in directory.parents:
                yield directory
                directory = directory.parent
            yield mount


def _quota_in(directory: Path) -> Optional[float]:
    try:
        return _parse_quota(directory)
    except (ValueError, ZeroDivisionError):  # a file we do not understand limits nothing we know of
        return None


def _parse_quota(directory: Path) -> Optional[float]:
    v2 = _read_lines(str(directory / "cpu.max"))
    if v2:
        quota, _, period = v2[0].partition(" ")
        return None if quota == "max" else int(quota) / int(period)
    quota_us = _read_lines(str(directory / "cpu.cfs_quota_us"))
    period_us = _read_lines(str(directory / "cpu.cfs_period_us"))
    if quota_us and period_us and int(quota_us[0]) > 0:
        return int(quota_us[0]) / int(period_us[0])
    return None


def _read_lines(path: str) -> List[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return [line for line in handle.read().splitlines() if line.strip()]
    except OSError:
        return []
