"""Atomic file writes: write to a temporary name next to the target, then rename.

A crash (or a second rank, or Ctrl-C), a full disk or a directory turned read-only never leaves a
truncated checkpoint, list or result file behind, nor a temporary one. Free of Paddle imports so light
tools can use it.
"""
import errno
import json
import os
import shutil
from contextlib import contextmanager
from typing import Any, Iterator, List


@contextmanager
def atomic_paths(*paths: str) -> Iterator[List[str]]:
    """Yield temporary paths to write, one per path; they replace ``paths`` only if the block completes.

    All temporaries are flushed to the disk before the first rename, and the renames (in the order of
    ``paths``) are flushed after, so files that belong together are replaced together: a power loss
    cannot keep a rename and lose the data behind it. On any failure every temporary is removed and
    every path is left as it was.

    Args:
        paths: the files to write.

    Returns:
        The temporary paths, in the order of ``paths``.
    """
    for path in paths:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmps = [f"{path}.tmp{os.getpid()}" for path in paths]
    try:
        yield tmps
        for tmp in tmps:
            fsync(tmp)
        for tmp, path in zip(tmps, paths):
            os.replace(tmp, path)
        for directory in {os.path.dirname(os.path.abspath(path)) for path in paths}:
            fsync(directory)
    finally:
        for tmp in tmps:
            if os.path.exists(tmp):
                os.remove(tmp)


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path to write; it replaces ``path`` on success and is removed on failure."""
    with atomic_paths(path) as (tmp,):
        yield tmp


def fsync(path: str) -> None:
    """Flush a file's data, or a directory's entries, to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno != errno.EINVAL:  # a filesystem that cannot sync this kind of file: nothing to wait for
            raise
    finally:
        os.close(fd)


def write_text_atomic(path: str, text: str) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)


def write_json_atomic(path: str, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2) + "\n")


WRITE_FAILURES = {
    errno.ENOSPC: "{dir} is full ({free} free)",
    errno.EDQUOT: "{dir} is over its disk quota ({free} free on the device)",
    errno.EROFS: "{dir} is on a read-only file system",
    errno.EACCES: "{dir} is not writable (permission denied)",
    errno.EPERM: "{dir} is not writable (operation not permitted)",
}


def describe_write_error(err: OSError, directory: str) -> str:
    """Why writing into ``directory`` failed, in words a user can act on (with the free space when
    space may be the problem).

    Args:
        err: the error a write, rename or ``open`` raised.
        directory: where the file was being written.

    Returns:
        e.g. ``/runs/x is full (1.2 MiB free)``.
    """
    free = free_space(directory)
    if err.errno in WRITE_FAILURES:
        return WRITE_FAILURES[err.errno].format(dir=directory, free=free)
    return f"writing to {directory} failed: {err.strerror or err} ({free} free)"


def free_space(directory: str) -> str:
    """The space left for ``directory``'s files, as ``12.3 MiB`` (``unknown`` if it cannot be asked)."""
    try:
        size = float(shutil.disk_usage(directory).free)
    except OSError:
        return "unknown"
    if size < 1024:
        return f"{size:.0f} bytes"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        size /= 1024
        if size < 1024 or unit == "TiB":
            return f"{size:.1f} {unit}"
