"""The run lock of an ``output_dir``: refused while a live process holds it, taken over once that
process has died (even by SIGKILL, even with forked children still running), reusable in one process."""
import json
import logging
import os
import signal
import socket
import subprocess
import sys

import pytest

from paddlevideo.errors import OutputDirError
from paddlevideo.utils.run_lock import LOCK_NAME, run_lock

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

HOLDER = """
import os, sys, time
from paddlevideo.utils.run_lock import run_lock
with run_lock(sys.argv[1]):
    child = os.fork() if sys.argv[2] == "fork" else -1
    if child == 0:
        time.sleep(600)
        os._exit(0)
    print(child, flush=True)
    time.sleep(600)
"""


@pytest.fixture
def start_holder():
    """Start a process that takes a directory's lock (forking a child if asked) and sleeps; returns
    ``(process, child pid)``. Every process it started is killed at the end."""
    started = []

    def start(directory, fork=False):
        proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(directory), "fork" if fork else "-"],
                                cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True)
        started.append(proc)
        return proc, int(proc.stdout.readline())

    yield start
    for proc in started:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


@pytest.fixture
def warnings_logged(caplog):
    """The ``paddlevideo`` logger's records (it does not propagate once a run has set it up)."""
    logger = logging.getLogger("paddlevideo")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def test_refused_while_the_holder_lives_then_taken_over(tmp_path, start_holder, warnings_logged):
    holder, _ = start_holder(tmp_path)
    message = f"output_dir {tmp_path} is in use by another training run (pid {holder.pid} on host " \
              f"{socket.gethostname()}, started "
    with pytest.raises(OutputDirError, match=message.replace("(", r"\(")):
        with run_lock(str(tmp_path)):
            pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with run_lock(str(tmp_path)):
        assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    assert f"from a run that has ended (pid {holder.pid} on host" in warnings_logged.text
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_forked_child_of_a_killed_holder_does_not_keep_the_lock(tmp_path, start_holder):
    holder, child = start_holder(tmp_path, fork=True)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    os.kill(child, 0)  # still alive
    with run_lock(str(tmp_path)):
        pass


def test_one_process_takes_it_again_and_nested_blocks_share_it(tmp_path, warnings_logged):
    """main.py holds the lock around train_model, which takes it too: the inner block neither refuses
    nor releases it."""
    for _ in range(2):
        with run_lock(str(tmp_path)):
            with run_lock(str(tmp_path / ".")):
                pass
            assert (tmp_path / ".lock").exists()
    assert "taking over" not in warnings_logged.text and not os.listdir(tmp_path)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into a 0o500 directory")
def test_a_read_only_output_dir_is_one_clear_error(tmp_path):
    os.chmod(tmp_path, 0o500)
    try:
        with pytest.raises(OutputDirError, match=f"cannot take the run lock {tmp_path / LOCK_NAME}: {tmp_path} is "
                                                 r"not writable \(permission denied\)"):
            with run_lock(str(tmp_path)):
                pass
    finally:
        os.chmod(tmp_path, 0o700)
