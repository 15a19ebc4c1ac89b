"""Sample reads with a deadline: each read runs in a child process that is killed when it misses it.

Why a process: a read can block for ever -- a stalled network mount, or decord spinning in native
code on indices past a file's real end (upstream decord issues #269, #373, #375), holding the GIL and
deaf to signals. Nothing inside the blocked process can interrupt that, a thread least of all; from
outside it takes one SIGKILL. So every process that reads samples (the main process with
``num_workers: 0``, else each loader worker) forks one reader child on its first read and sends it the
reads one at a time; a read that misses the deadline gets its child killed and replaced, and fails
like an undecodable file. A reader that dies (a decoder crashing on a broken file) is replaced too.

While the run is stopping (``utils/stop_flag.py``) a read gets ``STOP_GRACE_SECONDS`` more and is
then abandoned with :class:`StopReading`, so that pre-emption stops a run within its usual time even
while a read is stalled.

Replies travel as pickles whose array data (pickle protocol 5's out-of-band buffers) goes through a
shared memory block made before the fork, not through the pipe: a pipe moves megabytes of frames in
64 KiB pieces, each a wake-up of both processes, and on two cores that cost more than the copy.
"""
import ctypes
import mmap
import os
import pickle
import signal
import time
import traceback
from multiprocessing.connection import Connection, Pipe, wait
from typing import Any, Callable, Optional, Tuple

from ..utils.stop_flag import stopping

POLL_SECONDS = 0.2  # how often a waiting read looks at the stop flag
SHARED_BYTES = 64 << 20  # array data of one reply; a larger reply goes through the pipe (pages are only
# used as far as a reply fills them)
STOP_GRACE_SECONDS = 1.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h


class ReadTimedOut(Exception):
    """A read missed its deadline; its process was killed."""


class ReaderDied(Exception):
    """The reader process ended during a read (e.g. a decoder crashed)."""


class StopReading(RuntimeError):
    """The run is stopping and a read in progress was abandoned (the main process checkpoints and ends)."""


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent ends (a SIGKILLed worker leaves no reader behind)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
    except (OSError, AttributeError):  # not Linux: the reader still ends when its pipe closes
        pass


def send_reply(conn: Connection, shared: mmap.mmap, reply: Any) -> None:
    """``reply`` pickled, its array buffers in ``shared`` when they fit (see the module docstring)."""
    buffers = []
    data = pickle.dumps(reply, protocol=5, buffer_callback=buffers.append)
    views = [buffer.raw() for buffer in buffers]
    if sum(view.nbytes for view in views) > len(shared):
        conn.send_bytes(pickle.dumps((pickle.dumps(reply, protocol=5), None), protocol=5))
        return
    spans, offset = [], 0
    for view in views:
        shared[offset:offset + view.nbytes] = view
        spans.append((offset, view.nbytes))
        offset += view.nbytes
    conn.send_bytes(pickle.dumps((data, spans), protocol=5))


def receive_reply(conn: Connection, shared: mmap.mmap) -> Any:
    """The reply :func:`send_reply` sent, its arrays copied out of ``shared`` (which the next reply reuses)."""
    data, spans = pickle.loads(conn.recv_bytes())
    if spans is None:
        return pickle.loads(data)
    return pickle.loads(data, buffers=[bytearray(shared[offset:offset + size]) for offset, size in spans])


def _serve(conn: Connection, shared: mmap.mmap, function: Callable) -> None:
    """The reader's loop: ``function(*args)`` for each request, replying ``(True, result)`` or
    ``(False, exception)``; ends when the pipe closes."""
    _die_with_parent()
    # Stop signals are the parent's to act on: a SIGTERM to the process group must not kill the readers
    # under their workers (each read would fail and be retried while the run shuts down). A reader ends
    # by its owner's SIGKILL, or with its parent (PR_SET_PDEATHSIG).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.set_wakeup_fd(-1)
    while True:
        try:
            args = conn.recv()
        except EOFError:
            return
        try:
            reply = (True, function(*args))
        except Exception as err:  # sent to the parent, which raises it where the read was asked for
            reply = (False, err)
        try:
            send_reply(conn, shared, reply)
        except Exception:  # an exception that does not pickle
            send_reply(conn, shared, (False, RuntimeError(traceback.format_exc())))


class DeadlineReader:
    """Runs ``function(*args)`` in a child process forked on first use, with a deadline per call.

    Args:
        function: what a read does; the child is a fork, so it may be a bound method of the caller's
            dataset (its state as of the fork: pass what changes, e.g. RNG states, as arguments).
    """

    def __init__(self, function: Callable):
        self._function = function
        self._pid: Optional[int] = None
        self._conn: Optional[Connection] = None
        self._shared: Optional[mmap.mmap] = None
        self._owner = os.getpid()  # a forked copy of this object must not touch the owner's reader

    def _start(self) -> None:
        parent_end, child_end = Pipe()
        self._shared = mmap.mmap(-1, SHARED_BYTES)  # anonymous and shared: the fork sees the same pages
        pid = os.fork()
        if pid == 0:  # the reader: never returns into the caller's code
            status = 0
            try:
                parent_end.close()
                _serve(child_end, self._shared, self._function)
            except BaseException:
                status = 1
            finally:
                os._exit(status)
        child_end.close()
        self._pid, self._conn = pid, parent_end

    def close(self) -> None:
        """Kill the reader (if any) and reap it; nothing in a process other than the one that made it."""
        if self._pid is not None and os.getpid() == self._owner:
            try:
                os.kill(self._pid, signal.SIGKILL)
                os.waitpid(self._pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self._conn.close()
            self._shared.close()
        self._pid, self._conn, self._shared = None, None, None

    def __del__(self) -> None:
        self.close()  # else the ended reader would stay a zombie until this process exits

    def call(self, args: Tuple, timeout: float) -> Any:
        """``function(*args)`` in the reader; its exception is raised here.

        Raises:
            ReadTimedOut: no reply within ``timeout`` seconds (the reader is killed).
            ReaderDied: the reader ended during the call.
            StopReading: the run is stopping and the reply did not come within the grace.
        """
        if self._pid is None:
            self._start()
        self._conn.send(args)
        if not self._wait(timeout):
            self.close()
            raise StopReading("stopping: a sample read still running was abandoned") if stopping() \
                else ReadTimedOut()
        try:
            ok, value = receive_reply(self._conn, self._shared)
        except (EOFError, OSError) as err:
            self.close()
            raise ReaderDied() from err
        if not ok:
            raise value
        return value

    def _wait(self, timeout: float) -> bool:
        """Whether the reply came before the deadline (or the stop grace, once the run is stopping)."""
        deadline, graced = time.monotonic() + timeout, False
        while True:
            now = time.monotonic()
            if not graced and stopping():
                deadline, graced = min(deadline, now + STOP_GRACE_SECONDS), True
            if now >= deadline:
                return False
            if wait([self._conn], min(POLL_SECONDS, deadline - now)):
                return True
