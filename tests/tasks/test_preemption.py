"""SIGTERM/SIGINT during training: finish the step, write ``<model_name>_latest``, exit 0; resuming
gives bitwise the run that was never interrupted. Checkpoint pairs that do not match are refused."""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from test_main import ROOT, tiny_args

import main
from paddlevideo.errors import ConfigError
from paddlevideo.tasks import train as train_module
from paddlevideo.tasks.train_checkpoint import find_resumable, load_checkpoint
from paddlevideo.utils.checkpoint import load_file

LOSS_LINE = re.compile(r"epoch \[(\d+)/\d+\] batch (\d+)/\d+ loss: (\S+)")


def logged_losses(log_file):
    """``(epoch, batch) -> loss`` of every logged training batch (later lines win)."""
    return {(int(e), int(b)): loss for e, b, loss in LOSS_LINE.findall(open(log_file).read())}


def signal_after_update(monkeypatch, count, signum=signal.SIGTERM):
    """Send ``signum`` to this process right after the ``count``-th optimiser update."""
    update, done = train_module.Trainer.update, []

    def patched(self):
        update(self)
        done.append(1)
        if len(done) == count:
            os.kill(os.getpid(), signum)

    monkeypatch.setattr(train_module.Trainer, "update", patched)


@pytest.mark.parametrize("workers,accumulate", [(0, False), (2, False), (0, True)])
def test_stop_mid_epoch_and_resume_equals_the_uninterrupted_run(demo_data, tmp_path, monkeypatch,
                                                                 workers, accumulate):
    extra = [f"DATASET.num_workers={workers}", "DATASET.batch_size=2", "log_interval=1"]
    if accumulate:  # 8 micro-batches per epoch in groups of 3, 3, 2
        extra.append("GRADIENT_ACCUMULATION={'global_batch_size': 6}")
    args = tiny_args(demo_data, tmp_path / "whole", epochs=2, extra=extra) + ["--seed", "5"]
    assert main.main(args) == 0

    out = tmp_path / "stopped"
    args = tiny_args(demo_data, out, epochs=2, extra=extra) + ["--seed", "5"]
    signal_after_update(monkeypatch, 2, signal.SIGTERM if workers else signal.SIGINT)
    assert main.main(args) == 0
    log = open(out / "train.log").read()
    assert re.search(r"SIG(TERM|INT) received: stopped at epoch 1, batch \d", log)
    assert {"demo_tokshift_tiny_latest.pdparams", "demo_tokshift_tiny_latest.pdopt"} <= set(os.listdir(out))
    assert "demo_tokshift_tiny_epoch_00001.pdparams" not in os.listdir(out)
    monkeypatch.undo()

    assert main.main(args + ["--resume", "auto"]) == 0
    assert "resumed from" in open(out / "train.log").read()
    whole = load_file(str(tmp_path / "whole" / "demo_tokshift_tiny_epoch_00002.pdparams"))
    resumed = load_file(str(out / "demo_tokshift_tiny_epoch_00002.pdparams"))
    for key in whole:
        np.testing.assert_array_equal(np.asarray(whole[key]), np.asarray(resumed[key]), err_msg=key)
    assert logged_losses(out / "train.log") == logged_losses(tmp_path / "whole" / "train.log")


def test_save_steps_and_resume_auto_takes_the_newest_complete_checkpoint(demo_data, tmp_path):
    out = tmp_path / "run"
    assert main.main(tiny_args(demo_data, out, epochs=2, extra=["save_steps=3"])) == 0
    latest, epoch2 = out / "demo_tokshift_tiny_latest", out / "demo_tokshift_tiny_epoch_00002"
    os.utime(str(latest) + ".pdopt", (time.time() + 5, time.time() + 5))  # make latest the newest
    assert find_resumable(str(out), "demo_tokshift_tiny") == str(latest) + ".pdparams"
    # an interrupted save: the weights of another checkpoint next to latest's state
    shutil.copy(str(out / "demo_tokshift_tiny_epoch_00001.pdparams"), str(latest) + ".pdparams")
    with pytest.raises(ConfigError, match="interrupted"):
        load_checkpoint(str(latest) + ".pdparams")
    assert find_resumable(str(out), "demo_tokshift_tiny") == str(epoch2) + ".pdparams"
    assert find_resumable(str(tmp_path / "empty"), "demo_tokshift_tiny") is None


def test_a_plain_paddlevideo_optimizer_file_resumes_at_its_epoch(demo_data, tmp_path):
    import paddle

    out = tmp_path / "run"
    assert main.main(tiny_args(demo_data, out, epochs=1)) == 0
    prefix = str(tmp_path / "pv" / "demo_tokshift_tiny_epoch_00001")
    os.makedirs(os.path.dirname(prefix))
    shutil.copy(str(out / "demo_tokshift_tiny_epoch_00001.pdparams"), prefix + ".pdparams")
    paddle.save(load_file(str(out / "demo_tokshift_tiny_epoch_00001.pdopt"))["optimizer"], prefix + ".pdopt")
    weights, state = load_checkpoint(prefix + ".pdparams")
    assert state["epoch"] == 1 and state["step"] == 0 and weights


def test_a_non_finite_loss_stops_naming_epoch_and_step(demo_data, tmp_path, monkeypatch, capsys):
    import paddle

    from paddlevideo.modeling.framework.recognizers.recognizer_transformer import RecognizerTransformer

    forward, calls = RecognizerTransformer.forward, []

    def nan_on_third_batch(self, data_batch, mode="infer"):
        outputs = forward(self, data_batch, mode)
        calls.append(mode)
        if calls.count("train") == 3:
            outputs["loss"] = outputs["loss"] * paddle.to_tensor(float("nan"))
        return outputs

    monkeypatch.setattr(RecognizerTransformer, "forward", nan_on_third_batch)
    assert main.main(tiny_args(demo_data, tmp_path / "run", epochs=1)) == 2
    err = capsys.readouterr().err
    assert "loss is nan at epoch 1, batch 3" in err and "Traceback" not in err


def exit_code_within(proc: subprocess.Popen, seconds: float, after: str) -> int:
    """The exit code of a training subprocess started in its own session; its whole group is killed and
    the test fails if it is still running after ``seconds``."""
    try:
        return proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"training did not exit within {seconds} s {after}")


def test_sigterm_to_the_process_group_never_hangs(demo_data, tmp_path):
    """The whole group (main process and its DataLoader workers) gets SIGTERM, as a cluster sends it."""
    out = tmp_path / "run"
    cmd = [sys.executable, os.path.join(ROOT, "main.py")] + tiny_args(
        demo_data, out, epochs=200, extra=["DATASET.num_workers=2", "DATASET.batch_size=2", "log_interval=1"])
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    log = out / "train.log"
    deadline = time.time() + 120
    while time.time() < deadline and not (log.exists() and "epoch [2/200] batch 3/8" in log.read_text()):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGTERM)
    assert exit_code_within(proc, 60, "of SIGTERM") == 0, proc.stderr.read().decode()[-2000:]
    text = log.read_text()
    assert "SIGTERM received: stopped at epoch" in text and "saved" in text
    assert (out / "demo_tokshift_tiny_latest.pdopt").exists()
