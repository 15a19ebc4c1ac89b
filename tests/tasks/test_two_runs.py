"""Two training runs on one ``output_dir``: the second is refused while the first lives, naming its
pid and host; once the first is killed (SIGKILL, its DataLoader worker maybe still alive), a new run
takes the directory over and resumes it."""
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from test_main import ROOT, tiny_args

import main

NAME = "demo_tokshift_tiny"


@pytest.fixture
def first_run(demo_data, tmp_path):
    """A long training subprocess on ``tmp_path/run``, once it has written its first checkpoint."""
    out = tmp_path / "run"
    cmd = [sys.executable, os.path.join(ROOT, "main.py")] + tiny_args(demo_data, out, epochs=200)
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and not (out / f"{NAME}_epoch_00001.pdopt").exists():
        time.sleep(0.2)
    try:
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        yield proc, out
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def test_a_second_run_is_refused_until_the_first_has_died(first_run, demo_data, capsys):
    proc, out = first_run
    assert main.main(tiny_args(demo_data, out, epochs=2)) == 2
    assert open(out / "train.log").read().count("config ") == 1  # the refused run wrote nothing there
    err = capsys.readouterr().err
    assert "Traceback" not in err
    line = [line for line in err.splitlines() if line.startswith("error:")][-1]
    assert f"error: output_dir {out} is in use by another training run (pid {proc.pid} on host " \
           f"{socket.gethostname()}, started " in line and "main.py" in line

    os.kill(proc.pid, signal.SIGKILL)  # the main process only: its DataLoader worker may outlive it
    proc.wait()
    assert main.main(tiny_args(demo_data, out, epochs=2) + ["--resume", "auto"]) == 0
    console = capsys.readouterr()  # the lock is taken before train.log opens
    assert f"from a run that has ended (pid {proc.pid} on host" in console.out + console.err
    assert "resumed from" in open(out / "train.log").read()
    assert not (out / ".lock").exists()
