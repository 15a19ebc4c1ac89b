"""A video read that never returns (blocked in native code, GIL held: ``tests/stalled_read_helpers.py``) costs
training, validation and ``--test`` one sample after ``DATASET.read_timeout``, with 0 workers and with 2;
and SIGTERM to the main process alone still stops a run within seconds while such a read is stalled."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from stalled_read_helpers import stalling_decoder
from test_main import tiny_args
from test_preemption import exit_code_within

import main
from paddlevideo.loader.pipelines import VideoDecoder

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMED_OUT = "read timed out after 2 s (DATASET.read_timeout)"


def with_stalling_video(demo_data, tmp_path):
    """A copy of the demo data whose train and val lists also hold ``stall.avi``."""
    data = tmp_path / "data"
    shutil.copytree(demo_data, data)
    first = (data / "val.list").read_text().split()[0]
    shutil.copy(data / "videos" / first, data / "videos" / "stall.avi")
    for name in ("train.list", "val.list"):
        with open(data / name, "a") as handle:
            handle.write("stall.avi 0\n")
    return data


@pytest.mark.parametrize("workers", [0, 2])
def test_a_stalled_read_costs_one_sample_in_training_validation_and_test(demo_data, tmp_path, monkeypatch,
                                                                          workers):
    data = with_stalling_video(demo_data, tmp_path)
    monkeypatch.setattr(VideoDecoder, "__call__", stalling_decoder("stall"))
    out = tmp_path / "out"
    args = tiny_args(data, out, epochs=1, extra=[f"DATASET.num_workers={workers}", "DATASET.read_timeout=2",
                                                 "DATASET.max_failure_ratio=0.5"])
    assert main.main(args + ["--validate"]) == 0
    log = (out / "train.log").read_text()
    assert f"unreadable training video {data / 'videos' / 'stall.avi'} ({TIMED_OUT})" in log
    assert "validation: 8 of 9 videos scored, 1 failed" in log
    assert main.main(args + ["--test", "-w", str(out / "demo_tokshift_tiny_best.pdparams")]) == 0
    results = json.loads((out / "test_results.json").read_text())
    assert (results["scored"], results["failed"]) == (8, 1)
    assert results["failures"][0]["reason"] == TIMED_OUT


@pytest.mark.parametrize("workers", [0, 2])
def test_sigterm_to_the_main_process_stops_the_run_while_a_read_is_stalled(demo_data, tmp_path, workers):
    """The default deadline (60 s) is far away: the stop must come from the signal, not the timeout."""
    data = with_stalling_video(demo_data, tmp_path)
    (data / "train.list").write_text("stall.avi 0\n" + (data / "train.list").read_text())
    out, marker = tmp_path / "out", tmp_path / "stalled"
    args = tiny_args(data, out, epochs=1, extra=[f"DATASET.num_workers={workers}", "DATASET.batch_size=2",
                                                 "log_interval=1"])
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "stalled_read_helpers.py"), "stall", str(marker),
                             *args], cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and not marker.exists() and proc.poll() is None:
        time.sleep(0.1)
    assert marker.exists(), proc.stderr.read().decode()[-2000:]
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGTERM)  # the main process only, as a container runtime sends it
    start = time.time()
    code = exit_code_within(proc, 30, "of SIGTERM while a read was stalled")
    assert code == 0, proc.stderr.read().decode()[-2000:]
    assert time.time() - start < 15
    log = (out / "train.log").read_text()
    assert "SIGTERM received: stopped at epoch 1" in log
    assert (out / "demo_tokshift_tiny_latest.pdopt").exists()
