"""A full or read-only ``output_dir`` at checkpoint time: the previous checkpoint stays whole and
loadable, no temporary file is left, and the run stops with one ``error:`` line naming the directory,
its free space and the last good checkpoint."""
import errno
import io
import json
import os
import shlex
import shutil
import subprocess
import sys

import numpy as np
import paddle
import pytest
from test_main import ROOT, tiny_args

import main
from paddlevideo.errors import OutputDirError
from paddlevideo.tasks.train_checkpoint import (
    find_resumable,
    load_checkpoint,
    reporting_save_errors,
    save_checkpoint,
)
from paddlevideo.utils.checkpoint import load_file

NAME = "demo_tokshift_tiny"


def fail_writing(monkeypatch, suffix: str, code: int = errno.ENOSPC, after: int = 0) -> None:
    """Make ``paddle.save`` to a file named ``*suffix`` (or its temporary) write half its bytes and raise
    ``OSError(code)``, as a disk filling up mid-write does; the first ``after`` such saves succeed."""
    real_save, matched = paddle.save, []

    def save(obj, path, *args, **kwargs):
        if str(path).split(".tmp")[0].endswith(suffix):
            matched.append(path)
            if len(matched) > after:
                buffer = io.BytesIO()
                real_save(obj, buffer, *args, **kwargs)
                with open(path, "wb") as handle:
                    handle.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
                raise OSError(code, os.strerror(code), str(path))
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(paddle, "save", save)


def error_line(err: str) -> str:
    """The one ``error:`` line of a failed ``main.main``, with no traceback."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


def leftovers(directory) -> list:
    return [name for name in os.listdir(directory) if ".tmp" in name]


@pytest.mark.parametrize("failing", [".pdparams", ".pdopt"])
def test_a_failed_save_keeps_the_previous_pair_of_its_name(tmp_path, monkeypatch, failing):
    prefix = str(tmp_path / f"{NAME}_latest")
    save_checkpoint(prefix, {"w": paddle.ones([3])}, {"optimizer": {}, "epoch": 1, "step": 2})
    fail_writing(monkeypatch, failing)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(prefix, {"w": paddle.zeros([3])}, {"optimizer": {}, "epoch": 1, "step": 5})
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == [f"{NAME}_latest.pdopt", f"{NAME}_latest.pdparams"]
    weights, state = load_checkpoint(prefix)
    np.testing.assert_array_equal(np.asarray(weights["w"]), np.ones([3]))
    assert state["step"] == 2
    assert find_resumable(str(tmp_path), NAME) == prefix + ".pdparams"


@pytest.mark.parametrize("code,wording", [(errno.ENOSPC, "is full ("), (errno.EDQUOT, "quota"),
                                          (errno.EROFS, "read-only file system"),
                                          (errno.EACCES, "not writable (permission denied)")])
def test_save_errors_say_why_where_and_what_is_left(tmp_path, code, wording):
    target = str(tmp_path / f"{NAME}_epoch_00002")
    with pytest.raises(OutputDirError) as raised:
        with reporting_save_errors(target, "the/last.pdparams"):
            raise OSError(code, os.strerror(code), target + ".pdopt.tmp1")
    message = str(raised.value)
    assert f"cannot save {NAME}_epoch_00002: {tmp_path}" in message and wording in message
    assert message.endswith("The last good checkpoint is the/last.pdparams")
    if code == errno.ENOSPC:
        assert " free)" in message


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
@pytest.mark.parametrize("failing,after,last_good,extra", [
    ("_epoch_00002.pdopt", 0, "epoch_00001", []),
    ("_latest.pdparams", 1, "epoch_00001", ["save_steps=3"]),
    ("_best.pdparams", 0, "epoch_00001", []),
])
def test_training_stops_with_one_error_line_when_a_save_fails(demo_data, tmp_path, monkeypatch, capsys, code,
                                                               failing, after, last_good, extra):
    out = tmp_path / "run"
    fail_writing(monkeypatch, failing, code, after)
    assert main.main(tiny_args(demo_data, out, epochs=2, extra=extra) + ["--validate"]) == 2
    monkeypatch.undo()
    line = error_line(capsys.readouterr().err)
    last = out / f"{NAME}_{last_good}.pdparams"
    assert f"cannot save {NAME}{failing.split('.')[0]}" in line and str(out) in line
    assert line.endswith(f"The last good checkpoint is {last}")
    assert ("free)" in line) == (code == errno.ENOSPC)
    assert leftovers(out) == [] and not (out / ".lock").exists()
    assert "finished" not in open(out / "train.log").read()
    assert find_resumable(str(out), NAME) == str(last)
    load_checkpoint(str(last))
    if failing == "_latest.pdparams":  # the save of update 6 failed: the pair of update 3 is still whole
        assert load_checkpoint(str(out / f"{NAME}_latest"))[1]["step"] == 3


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into a 0o500 directory")
def test_a_directory_turned_read_only_mid_run_stops_with_one_line(demo_data, tmp_path, monkeypatch, capsys):
    from paddlevideo.tasks import train as train_module

    out, update = tmp_path / "run", train_module.Trainer.update

    def update_then_lock_out(self):
        update(self)
        os.chmod(out, 0o500)

    monkeypatch.setattr(train_module.Trainer, "update", update_then_lock_out)
    try:
        assert main.main(tiny_args(demo_data, out, epochs=1)) == 2
    finally:
        os.chmod(out, 0o700)
    line = error_line(capsys.readouterr().err)
    assert f"cannot save {NAME}_epoch_00001: {out} is not writable (permission denied)" in line
    assert line.endswith("The last good checkpoint is none yet") and leftovers(out) == []


def namespace_with_tmpfs(directory) -> str:
    """Why a tmpfs cannot be mounted in an unprivileged user namespace here ('' if it can)."""
    if not shutil.which("unshare"):
        return "no unshare command"
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs {directory}"],
                           capture_output=True, text=True)
    return probe.stderr.strip() or f"unshare exited with {probe.returncode}" if probe.returncode else ""


CHECK = """
import json, os, sys
from paddlevideo.tasks.train_checkpoint import find_resumable, load_checkpoint
out = sys.argv[1]
resumable = find_resumable(out, "demo_tokshift_tiny")
load_checkpoint(resumable)
print(json.dumps({"files": sorted(os.listdir(out)), "resumable": resumable}))
"""


def test_a_real_full_disk_in_a_small_tmpfs(demo_data, tmp_path):
    """Training on a 3 MiB tmpfs: epoch 1's pair (1.8 MB) fits, epoch 2's does not. Then the same
    directory read-only: ``--resume auto`` cannot even take the run lock."""
    out = tmp_path / "tmpfs"
    out.mkdir()
    reason = namespace_with_tmpfs(out)
    if reason:
        pytest.skip(f"needs an unprivileged user namespace with a tmpfs mount: {reason}")
    train = [sys.executable, os.path.join(ROOT, "main.py")] + tiny_args(demo_data, out, epochs=2)
    steps = [f"mount -t tmpfs -o size=3m tmpfs {out}", f"{shlex.join(train)} 2> {tmp_path / 'full.err'}",
             f"echo rc=$? > {tmp_path / 'full.rc'}",
             f"{shlex.join([sys.executable, '-c', CHECK, str(out)])} > {tmp_path / 'check.json'}",
             f"mount -o remount,ro {out}", f"{shlex.join(train + ['--resume', 'auto'])} 2> {tmp_path / 'ro.err'}"]
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", "; ".join(steps)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHONPATH": ROOT})
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert (tmp_path / "full.rc").read_text().strip() == "rc=2"
    line = error_line((tmp_path / "full.err").read_text())
    assert f"cannot save {NAME}_epoch_00002: {out} is full (" in line and " MiB free)" in line
    assert line.endswith(f"The last good checkpoint is {out / NAME}_epoch_00001.pdparams")
    check = json.loads((tmp_path / "check.json").read_text())
    assert check["resumable"] == f"{out / NAME}_epoch_00001.pdparams"
    assert check["files"] == [f"{NAME}_epoch_00001.pdopt", f"{NAME}_epoch_00001.pdparams", "train.log"]
    assert error_line((tmp_path / "ro.err").read_text()) == f"error: cannot take the run lock {out / '.lock'}: " \
                                                           f"{out} is on a read-only file system"


def test_a_checkpoint_saved_before_the_failure_resumes(demo_data, tmp_path, monkeypatch):
    out = tmp_path / "run"
    fail_writing(monkeypatch, "_epoch_00002.pdparams")
    assert main.main(tiny_args(demo_data, out, epochs=2)) == 2
    monkeypatch.undo()
    assert main.main(tiny_args(demo_data, out, epochs=2) + ["--resume", "auto"]) == 0
    assert f"resumed from {out / NAME}_epoch_00001.pdparams" in open(out / "train.log").read()
    assert load_file(str(out / f"{NAME}_epoch_00002.pdparams"))
