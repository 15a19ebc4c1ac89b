"""End to end: main.py trains, validates, checkpoints, resumes and tests on generated videos."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from main_helpers import shrink_args

import main
from paddlevideo.utils.checkpoint import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_CFG = os.path.join(ROOT, "configs", "recognition", "tokshift", "demo_tokshift_tiny.yaml")


def tiny_args(demo, out, epochs=2, extra=()):
    """Overrides shrinking the demo config to a 32 px, 4-frame, depth-2 model on ``demo``."""
    return shrink_args(DEMO_CFG, out, data_prefix=f"{demo}/videos", train_list=f"{demo}/train.list",
                       val_list=f"{demo}/val.list", epochs=epochs, extra=extra)


@pytest.fixture(scope="module")
def trained(demo_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main.main(tiny_args(demo_data, out) + ["--validate", "--amp", "--seed", "0"]) == 0
    return out


def test_training_writes_checkpoints_and_logs(trained):
    names = set(os.listdir(trained))
    assert {"demo_tokshift_tiny_best.pdparams", "demo_tokshift_tiny_epoch_00001.pdparams",
            "demo_tokshift_tiny_epoch_00002.pdparams", "demo_tokshift_tiny_epoch_00002.pdopt",
            "train.log"} <= names
    assert not [n for n in names if ".tmp" in n]
    log = open(os.path.join(trained, "train.log")).read()
    for expected in ("epoch [2/2] batch 4/4", "loss:", "top1:", "lr:", "batch_time:", "data_time:",
                     "clips/s", "eta:", "validation: 8 of 8 videos scored", "new best top1"):
        assert expected in log
    assert log.count("--amp requested but no GPU") == 1


def test_test_mode_reports_accuracy(trained, demo_data):
    best = os.path.join(trained, "demo_tokshift_tiny_best.pdparams")
    labels = f"DATASET.label_file={demo_data}/classes.txt"
    assert main.main(tiny_args(demo_data, trained, extra=[labels]) + ["--test", "-w", best]) == 0
    results = json.load(open(os.path.join(trained, "test_results.json")))
    assert results["scored"] == results["videos"] == 8 and results["failed"] == 0
    per_class = {line.split()[1] for line in open(demo_data / "classes.txt") if line.strip()}
    worst = [line for line in open(os.path.join(trained, "test.log")) if "worst classes" in line][-1]
    assert len([name for name in per_class if name in worst]) == 4
    assert 0.0 <= results["top1"] <= 1.0 and results["top5"] == 1.0
    assert 0.0 <= results["mean_class_accuracy"] <= 1.0 and results["views"] == 1
    rows = open(os.path.join(trained, "test_predictions.csv")).read().splitlines()
    assert rows[0].startswith("path,label,top1_class,top1_score")
    assert rows[0].endswith(",views,readable_frames,header_frames")
    assert len(rows) == 9 and all(row.endswith(",1,,") for row in rows[1:])  # every frame readable


def test_resume_continues_from_the_epoch(trained, demo_data, tmp_path):
    ckpt = tmp_path / "e1.pdparams"
    shutil.copy(os.path.join(trained, "demo_tokshift_tiny_epoch_00001.pdparams"), ckpt)
    shutil.copy(os.path.join(trained, "demo_tokshift_tiny_epoch_00001.pdopt"), tmp_path / "e1.pdopt")
    out = tmp_path / "resumed"
    assert main.main(tiny_args(demo_data, out) + ["--resume", str(ckpt)]) == 0
    log = open(out / "train.log").read()
    assert "resumed from" in log and "epoch [1/2]" not in log and "epoch [2/2] batch 4/4" in log


def test_same_seed_same_weights(demo_data, tmp_path):
    finals = []
    for run in ("a", "b"):
        assert main.main(tiny_args(demo_data, tmp_path / run, epochs=1) + ["--seed", "7"]) == 0
        finals.append(load_file(str(tmp_path / run / "demo_tokshift_tiny_epoch_00001.pdparams")))
    for key in finals[0]:
        np.testing.assert_array_equal(np.asarray(finals[0][key]), np.asarray(finals[1][key]))


EXAMPLE_VIDEO = os.path.join(ROOT, "data", "example", "BrushingTeeth.avi")


def add_broken(data, list_name, names):
    """Append broken files to ``list_name``: garbage bytes, an empty file, a missing file, and a download
    cut short (the first 60 kB of a 175-frame UCF101 clip: 18 frames readable, its header says 175)."""
    with open(EXAMPLE_VIDEO, "rb") as handle:
        contents = {"garbage.avi": b"not a video at all", "empty.avi": b"", "cut.avi": handle.read(60_000)}
    with open(data / list_name, "a") as f:
        for name in names:
            if name in contents:
                (data / "videos" / name).write_bytes(contents[name])
            f.write(f"{name} 0\n")


def test_broken_videos_in_train_valid_and_test_never_cost_the_run(demo_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(demo_data, data)
    add_broken(data, "train.list", ["garbage.avi", "empty.avi", "cut.avi"])
    add_broken(data, "val.list", ["garbage.avi", "missing.avi", "cut.avi"])
    out = tmp_path / "out"
    args = tiny_args(data, out, epochs=2, extra=["DATASET.max_failure_ratio=0.5"])
    assert main.main(args + ["--validate"]) == 0
    log = open(out / "train.log").read()
    assert {"demo_tokshift_tiny_epoch_00001.pdparams", "demo_tokshift_tiny_epoch_00002.pdparams",
            "demo_tokshift_tiny_best.pdparams"} <= set(os.listdir(out))
    assert log.count("unreadable training video") == 2  # each broken file once per run, not per epoch
    assert log.count("cut.avi: its header promises 175 frames, 18 were readable; its clips come") == 1
    assert log.count("2 unreadable video(s) replaced, 1 sampled from part of their frames") == 2
    assert log.count("validation: 9 of 11 videos scored (1 from part of the video), 2 failed") == 2
    assert "missing.avi" in log and "garbage.avi" in log
    assert main.main(tiny_args(data, out) + ["--test", "-w", str(out / "demo_tokshift_tiny_best.pdparams")]) == 0
    results = json.load(open(out / "test_results.json"))
    assert (results["videos"], results["scored"], results["failed"], results["short"]) == (11, 9, 2, 1)
    assert sorted(os.path.basename(f["path"]) for f in results["failures"]) == ["garbage.avi", "missing.avi"]
    assert all(f["reason"] for f in results["failures"])
    assert [(os.path.basename(v["path"]), v["readable_frames"], v["header_frames"])
            for v in results["short_videos"]] == [("cut.avi", 18, 175)]
    rows = open(out / "test_predictions.csv").read().splitlines()
    assert len(rows) == 10 and [row for row in rows if row.endswith(",18,175")] == [
        row for row in rows if "cut.avi" in row]


@pytest.mark.parametrize("workers", [0, 2])
def test_training_data_beyond_retries_is_one_error_line(demo_data, tmp_path, capsys, workers):
    """When every replacement fails too, the run stops with one ``error:`` line and the list of files,
    also when the failures happen in loader workers: no traceback reaches the user."""
    data = tmp_path / "data"
    shutil.copytree(demo_data, data)
    (data / "train.list").write_text("")
    add_broken(data, "train.list", ["garbage.avi", "empty.avi", "missing.avi"] * 3)
    args = tiny_args(data, tmp_path / "out", epochs=1, extra=[f"DATASET.num_workers={workers}"])
    assert main.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "training samples failed to decode in this epoch" in err, err
    assert "garbage.avi" in err and "Traceback" not in err


def test_too_many_broken_training_videos_stop_the_run_listing_them(demo_data, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(demo_data, data)
    add_broken(data, "train.list", ["garbage.avi", "empty.avi"])
    assert main.main(tiny_args(data, tmp_path / "out", epochs=1)) == 2  # default ceiling 1% of 18
    err = capsys.readouterr().err
    assert "max_failure_ratio" in err and "garbage.avi" in err and "Traceback" not in err


def test_validation_runs_after_the_epoch_checkpoint_and_again_on_resume(demo_data, tmp_path, monkeypatch):
    """A crash in validation leaves the epoch's checkpoint; resuming validates that epoch first."""
    from paddlevideo.tasks import train as train_module

    def crash(*args, **kwargs):
        raise RuntimeError("validation crashed")

    out = tmp_path / "out"
    monkeypatch.setattr(train_module, "evaluate", crash)
    with pytest.raises(RuntimeError, match="validation crashed"):
        main.main(tiny_args(demo_data, out, epochs=1) + ["--validate"])
    assert (out / "demo_tokshift_tiny_epoch_00001.pdparams").exists()
    monkeypatch.undo()
    ckpt = str(out / "demo_tokshift_tiny_epoch_00001.pdparams")
    assert main.main(tiny_args(demo_data, out, epochs=1) + ["--validate", "--resume", ckpt]) == 0
    log = open(out / "train.log").read()
    assert "[val epoch 1]" in log and "new best top1" in log


@pytest.mark.parametrize("extra,message", [
    (["-o", "MODEL.backbone.dpeth=3"], "no key 'dpeth'"),
    (["--test"], "--test needs -w"),
    (["--test", "-w", "/nonexistent.pdparams"], "weights file not found"),
])
def test_cli_errors_are_one_line(demo_data, tmp_path, capsys, extra, message):
    assert main.main(tiny_args(demo_data, tmp_path) + extra) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_weights_that_do_not_fit_are_reported(trained, demo_data, tmp_path, capsys):
    best = os.path.join(trained, "demo_tokshift_tiny_best.pdparams")
    args = tiny_args(demo_data, tmp_path, extra=["MODEL.head.num_classes=7"]) + ["--test", "-w", best]
    assert main.main(args) == 2
    err = capsys.readouterr().err
    assert "do not fit the model" in err and "head.fc.weight" in err


def test_cli_runs_as_a_script(demo_data, tmp_path):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), "-c", str(tmp_path / "none.yaml")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "config file not found" in proc.stderr
