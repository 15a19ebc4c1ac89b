"""Scalar metrics for VisualDL (``use_visualdl: True``), an optional dependency.

The training loop logs, per log step, ``train/loss``, ``train/lr``, ``train/top1``, ``train/clips_per_s``
and, per epoch, ``val/...``: ``writer.scalars("train", {"loss": 0.7, "lr": 0.1}, step)``. View them with
``visualdl --logdir <output_dir>/visualdl``.

VisualDL is imported only when the writer is enabled on rank 0. When it is not installed, one warning
says how to install it and the writer does nothing; training never depends on it.
"""
import os
from typing import Any, Dict, Optional

from .logger import get_logger

INSTALL_HINT = "pip install visualdl"
_warned_missing = False


def open_visualdl_writer(log_dir: str) -> Optional[Any]:
    """A ``visualdl.LogWriter`` writing under ``log_dir``, or None (with one warning) if VisualDL is missing."""
    global _warned_missing
    try:
        from visualdl import LogWriter
    except ImportError as err:
        if not _warned_missing:
            _warned_missing = True
            get_logger().warning("use_visualdl is set but VisualDL cannot be imported (%s); metrics are not "
                                 "written for VisualDL. Install it with: %s", err, INSTALL_HINT)
        return None
    os.makedirs(log_dir, exist_ok=True)
    return LogWriter(logdir=log_dir)


class MetricsWriter:
    """Writes scalars to VisualDL from rank 0 when enabled; otherwise every call is a no-op.

    Args:
        log_dir: directory of the VisualDL record files (created when first needed).
        enabled: the config's ``use_visualdl``; when False VisualDL is never imported.
        rank: this process's rank; only rank 0 writes.
    """

    def __init__(self, log_dir: str, enabled: bool, rank: int):
        self.log_dir = log_dir
        self._writer = open_visualdl_writer(log_dir) if enabled and rank == 0 else None

    @property
    def active(self) -> bool:
        """True when scalars are actually written."""
        return self._writer is not None

    def scalars(self, prefix: str, values: Dict[str, Any], step: int) -> None:
        """Log each ``values[name]`` (a number or a one-element tensor) as ``<prefix>/<name>`` at ``step``."""
        if self._writer is None:
            return
        for name, value in values.items():
            self._writer.add_scalar(tag=f"{prefix}/{name}", value=float(value), step=int(step))

    def close(self) -> None:
        """Flush and close the record file; later calls are no-ops."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> "MetricsWriter":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
