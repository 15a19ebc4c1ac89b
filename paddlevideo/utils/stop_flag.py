"""A stop request that every process of a training run sees at once, even while the main thread waits.

Why: while a loader worker waits on a stalled read, the main process waits inside Paddle's DataLoader,
in native code that holds its Python signal handler back until the next batch arrives; a worker
cannot tell that the run was asked to stop. So, while :class:`SharedStop` is active, the C-level
part of Python's signal handling writes each signal's number to a pipe (``signal.set_wakeup_fd``),
a thread reads it and sets a flag in shared memory that the processes forked afterwards (the loader
workers, created for each pass over the data) read with :func:`stopping`. Paddle-free.
"""
import ctypes
import multiprocessing
import os
import signal
import threading
from typing import Optional

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

_shared: Optional[ctypes.c_int] = None  # the flag of the active SharedStop, inherited by forked children


def stopping() -> bool:
    """Whether the run this process belongs to was asked to stop."""
    return _shared is not None and bool(_shared.value)


def request_stop() -> None:
    """Set the flag (from the main process's Python signal handler, when it gets to run)."""
    if _shared is not None:
        _shared.value = 1


class SharedStop:
    """While active (``with SharedStop():``, in the main thread), SIGTERM and SIGINT set the shared flag.

    Only the signals that have a Python handler reach the pipe, so the caller installs its handlers
    for ``STOP_SIGNALS`` too (``utils/preemption.py``).
    """

    def __init__(self):
        self._read_fd = self._write_fd = -1
        self._previous_fd = -1
        self._closing = False
        self._thread: Optional[threading.Thread] = None

    def __enter__(self) -> "SharedStop":
        global _shared
        _shared = multiprocessing.RawValue(ctypes.c_int, 0)
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)
        self._previous_fd = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        self._thread = threading.Thread(target=self._watch, name="stop-signal-watch", daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        stop_numbers = {int(sig) for sig in STOP_SIGNALS}
        while not self._closing:
            numbers = os.read(self._read_fd, 64)
            if stop_numbers.intersection(numbers):
                request_stop()

    def __exit__(self, *exc) -> None:
        global _shared
        signal.set_wakeup_fd(self._previous_fd)
        self._closing = True
        os.write(self._write_fd, b"\0")  # wakes the thread, which then sees _closing
        self._thread.join(timeout=5)
        os.close(self._read_fd)
        os.close(self._write_fd)
        _shared = None
