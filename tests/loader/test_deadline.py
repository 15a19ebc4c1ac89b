"""Reads with a deadline (``loader/deadline.py``): a read blocked in native code with the GIL held is
ended by killing its reader, which is replaced; errors and crashes in the reader arrive as raised; a
stopping run abandons a stalled read within the grace; and a dataset's clips do not depend on whether
they were read in a reader process."""
import ctypes
import os
import signal
import time

import numpy as np
import pytest
from stalled_read_helpers import block_in_native_code, stalling_decoder

from paddlevideo.loader import deadline
from paddlevideo.loader.deadline import STOP_GRACE_SECONDS, DeadlineReader, ReaderDied, ReadTimedOut, StopReading
from paddlevideo.loader.errors import DecodeError
from paddlevideo.loader.pipelines import VideoDecoder
from paddlevideo.utils import stop_flag
from paddlevideo.utils.preemption import StopRequest

PIPELINE = {"decode": {"name": "VideoDecoder"}, "sample": {"name": "Sampler", "num_seg": 4},
            "transform": [{"Scale": {"short_size": 36}}, {"RandomCrop": {"target_size": 32}},
                          {"Normalization": {"mean": [0.5] * 3, "std": [0.5] * 3}},
                          {"Image2Array": {"data_format": "cthw"}}]}


def read(what: str):
    """The reader's function in these tests."""
    if what == "stall":
        block_in_native_code()
    if what == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    if what == "broken":
        raise DecodeError("broken.avi", "no frames")
    if what == "arrays":
        return {"frames": np.arange(6000, dtype=np.uint8).reshape(10, 600), "order": np.ones((3, 4), order="F"),
                "view": np.arange(100.0)[::3]}
    return what, os.getpid()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def reader():
    reader = DeadlineReader(read)
    yield reader
    reader.close()


def test_a_read_blocked_in_native_code_misses_its_deadline_and_its_reader_is_replaced(reader):
    first = reader.call(("ok",), timeout=5)[1]
    start = time.monotonic()
    with pytest.raises(ReadTimedOut):
        reader.call(("stall",), timeout=1)
    assert 1 <= time.monotonic() - start < 3
    assert not alive(first)  # killed and reaped
    answer, second = reader.call(("ok",), timeout=5)
    assert answer == "ok" and second != first and second != os.getpid()


@pytest.mark.parametrize("shared_bytes", [1 << 20, 1000])
def test_arrays_arrive_whole_through_shared_memory_or_the_pipe(monkeypatch, shared_bytes):
    """Array data goes through the shared block when it fits, else through the pipe."""
    monkeypatch.setattr(deadline, "SHARED_BYTES", shared_bytes)
    reader = DeadlineReader(read)
    try:
        for _ in range(2):  # the second reply reuses the block
            got = reader.call(("arrays",), timeout=5)
            np.testing.assert_array_equal(got["frames"], np.arange(6000, dtype=np.uint8).reshape(10, 600))
            np.testing.assert_array_equal(got["order"], np.ones((3, 4)))
            np.testing.assert_array_equal(got["view"], np.arange(100.0)[::3])
            got["frames"][0, 0] = 7  # the caller owns its copy
    finally:
        reader.close()


def test_errors_in_the_reader_are_raised_in_the_caller(reader):
    with pytest.raises(DecodeError) as info:
        reader.call(("broken",), timeout=5)
    assert (info.value.path, info.value.reason) == ("broken.avi", "no frames")
    assert reader.call(("ok",), timeout=5)[0] == "ok"  # the same reader goes on


def test_a_reader_that_crashes_is_replaced(reader):
    with pytest.raises(ReaderDied):
        reader.call(("crash",), timeout=5)
    assert reader.call(("ok",), timeout=5)[0] == "ok"


def test_a_forked_copy_leaves_the_owners_reader_alone(reader):
    """A loader worker forked from the main process inherits its reader object; dropping it there must
    not kill the main process's reader."""
    first = reader.call(("ok",), timeout=5)[1]
    pid = os.fork()
    if pid == 0:
        reader.close()
        os._exit(0)
    os.waitpid(pid, 0)
    assert alive(first) and reader.call(("ok",), timeout=5)[1] == first


def test_a_stopping_run_abandons_a_stalled_read_within_the_grace(reader, monkeypatch):
    monkeypatch.setattr(stop_flag, "_shared", ctypes.c_int(1))
    start = time.monotonic()
    with pytest.raises(StopReading):
        reader.call(("stall",), timeout=600)
    assert time.monotonic() - start < STOP_GRACE_SECONDS + 2


def test_a_stop_signal_sets_the_flag_forked_processes_read():
    with StopRequest():
        pid = os.fork()
        if pid == 0:  # a loader worker: waits for the flag, reports through its exit status
            deadline = time.monotonic() + 10
            while not stop_flag.stopping() and time.monotonic() < deadline:
                time.sleep(0.05)
            os._exit(0 if stop_flag.stopping() else 1)
        os.kill(os.getpid(), signal.SIGTERM)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert not stop_flag.stopping()  # gone with the run


def dataset(tmp_path, names, **kwargs):
    from paddlevideo.loader.dataset import VideoDataset

    (tmp_path / "list.txt").write_text("".join(f"{name} 0\n" for name in names))
    return VideoDataset(str(tmp_path / "list.txt"), PIPELINE, data_prefix=str(tmp_path), **kwargs)


def test_a_stalled_video_fails_with_the_timeout_and_the_others_read(tmp_path, make_video, monkeypatch):
    for name in ("a.avi", "stall.avi", "c.avi"):
        make_video(name)
    monkeypatch.setattr(VideoDecoder, "__call__", stalling_decoder("stall"))
    test_set = dataset(tmp_path, ["a.avi", "stall.avi", "c.avi"], test_mode=True, read_timeout=1)
    stalled = test_set[1]
    assert stalled.imgs is None
    assert stalled.failures == ((1, "read timed out after 1 s (DATASET.read_timeout)"),)
    assert test_set[0].imgs is not None and test_set[2].imgs is not None
    train_set = dataset(tmp_path, ["a.avi", "stall.avi", "c.avi"], read_timeout=1)
    train_set.seed_samples(0, 0)
    replaced = train_set[1]
    assert replaced.imgs is not None and replaced.index != 1
    assert replaced.failures[0] == (1, "read timed out after 1 s (DATASET.read_timeout)")


def test_clips_are_the_same_read_in_a_reader_process_or_here(tmp_path, make_video):
    """The random crop is drawn from the caller's RNG stream either way."""
    for name in ("a.avi", "b.avi"):
        make_video(name)
    clips = []
    for timeout in (None, 60):
        train_set = dataset(tmp_path, ["a.avi", "b.avi"], read_timeout=timeout)
        train_set.seed_samples(3, 1)
        clips.append([train_set[i].imgs for i in (0, 1, 0)])
        np.random.seed(5)
        clips[-1].append(train_set.load(1)[0])
        clips[-1].append(np.random.rand(1))  # the stream goes on where the read left it
    for here, there in zip(*clips):
        np.testing.assert_array_equal(here, there)
