"""One training run per ``output_dir``: a lock that a second run finds taken, so two runs never
overwrite each other's checkpoints.

``<output_dir>/.lock`` is held with ``flock`` for the run's lifetime and names the holder (pid, host,
start time, command line). Why ``flock`` rather than a file created with ``O_EXCL``: the kernel
releases it when the holder ends, however it ends (SIGKILL, the OOM killer), so there is no stale
lock to judge from a pid that may have been reused or lives on another host; the file's contents only
feed the messages. Linux NFS clients pass ``flock`` to the server as a whole-file lock, so runs on two
hosts sharing the directory see each other as well -- unless it is mounted ``local_lock=flock`` or
``nolock``, where only runs on the same host are caught. Paddle-free.
"""
import contextlib
import errno
import fcntl
import functools
import json
import os
import socket
import sys
import time
from typing import Dict, Iterator, Optional

from ..errors import OutputDirError
from .atomic import describe_write_error
from .logger import get_logger

LOCK_NAME = ".lock"

# Lock files this process holds, by path: closed in forked children (DataLoader workers), whose copies
# would otherwise keep the lock after the run itself was killed.
_held: Dict[str, int] = {}


@contextlib.contextmanager
def run_lock(output_dir: str) -> Iterator[None]:
    """Hold ``output_dir``'s run lock while the block runs; released (and the file removed) after it.

    Re-entrant: a block inside one that holds the same lock runs without taking it again (``main.py``
    takes it before opening ``train.log``, ``train_model`` for callers of the Python API).

    Raises:
        OutputDirError: another live run holds the lock (naming its pid and host), or ``output_dir``
            cannot be written.
    """
    path = os.path.realpath(os.path.join(output_dir, LOCK_NAME))
    if path in _held:
        yield
        return
    fd = acquire(path)
    try:
        yield
    finally:
        if fd is not None:
            release(path, fd)


def acquire(path: str) -> Optional[int]:
    """Lock ``path`` and record this process in it; None where the filesystem has no locks."""
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        fd = lock_file(path)
    except OSError as err:
        if err.errno != errno.ENOLCK:
            raise unwritable(path, err) from err
        get_logger().warning("cannot lock %s (%s): a second run on this output_dir would not be refused",
                             path, err.strerror)
        return None
    previous = read_holder(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(this_process()).encode(), 0)
    except OSError as err:
        os.close(fd)
        raise unwritable(path, err) from err
    if previous:
        get_logger().warning("taking over %s from a run that has ended (%s)", path, describe(previous))
    close_in_forked_children()
    _held[path] = fd
    return fd


def unwritable(path: str, err: OSError) -> OutputDirError:
    return OutputDirError(f"cannot take the run lock {path}: {describe_write_error(err, os.path.dirname(path))}")


def lock_file(path: str) -> int:
    """An open descriptor of ``path`` holding its ``flock``.

    Raises:
        OutputDirError: another process holds it.
    """
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_holder(fd)
            os.close(fd)
            raise OutputDirError(f"output_dir {os.path.dirname(path)} is in use by another training run "
                                 f"({describe(holder)}); wait for it to end, stop it, or choose another "
                                 f"output_dir") from None
        except OSError:
            os.close(fd)
            raise
        if same_file(fd, path):
            return fd
        os.close(fd)  # its holder released and removed it between our open and flock: lock the new one


def same_file(fd: int, path: str) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def release(path: str, fd: int) -> None:
    """Remove the lock file while still holding it, then let go."""
    _held.pop(path, None)
    with contextlib.suppress(OSError):  # in a directory turned read-only it stays; the next run takes it over
        os.remove(path)
    os.close(fd)


@functools.lru_cache(maxsize=None)
def close_in_forked_children() -> None:
    """Register (once) :func:`close_inherited` to run in every child this process forks."""
    os.register_at_fork(after_in_child=close_inherited)


def close_inherited() -> None:
    for fd in _held.values():
        os.close(fd)
    _held.clear()


def this_process() -> Dict:
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"), "command": " ".join(sys.argv)}


def read_holder(fd: int) -> Dict:
    """What the lock file says about its holder ({} while a new holder has not written it yet)."""
    try:
        holder = json.loads(os.pread(fd, 1 << 16, 0) or b"{}")
    except ValueError:
        return {}
    return holder if isinstance(holder, dict) else {}


def describe(holder: Dict) -> str:
    if not holder:
        return "pid not recorded yet"
    return (f"pid {holder.get('pid')} on host {holder.get('host')}, started {holder.get('started')}: "
            f"{holder.get('command')}")
