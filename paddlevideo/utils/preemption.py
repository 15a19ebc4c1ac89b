"""Pre-emption: SIGTERM or SIGINT asks training to stop at the next safe point instead of dying.

Why: clusters pre-empt jobs with SIGTERM (and a grace period), and a user stops a run with Ctrl-C;
either way the work since the last checkpoint must not be lost, and the process must not hang (as
PaddleVideo's does). The handler only sets a flag -- logging or saving inside a signal handler can
deadlock -- and the training loop, after finishing its current optimisation step, writes a
checkpoint and returns. A second Ctrl-C interrupts at once. In a one-process run the flag is also
shared with the loader workers (``utils/stop_flag.py``), so that a stalled read is abandoned at once
and the run checkpoints before the batch it was part of. With several processes a rank that gave up
its batch would leave the others waiting in the gradient all-reduce, so there a stalled read ends at
its deadline (``DATASET.read_timeout``) and the stop comes after the step.
"""
import signal
import threading
from typing import Optional

import paddle.distributed as dist

from .runtime import any_rank
from .stop_flag import STOP_SIGNALS, SharedStop, request_stop, stopping


class StopRequest:
    """Installs the handlers while active (``with StopRequest() as stop:``); ``stop.requested()``."""

    def __init__(self):
        self.signum: Optional[int] = None
        self._previous = {}
        self._shared: Optional[SharedStop] = None

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():  # handlers can only live there
            self._previous = {sig: signal.signal(sig, self._handle) for sig in STOP_SIGNALS}
            if dist.get_world_size() == 1:  # see the module docstring
                self._shared = SharedStop().__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._shared is not None:
            self._shared.__exit__(*exc)
            self._shared = None
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def _handle(self, signum: int, frame) -> None:
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum
        request_stop()

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""

    def requested_here(self) -> bool:
        """Whether this process was asked to stop (no agreement with the other processes)."""
        return self.signum is not None or stopping()

    def requested(self) -> bool:
        """Whether any process was asked to stop (all processes agree, so they stop at the same step
        and none is left waiting in a gradient all-reduce)."""
        return any_rank(self.requested_here())
