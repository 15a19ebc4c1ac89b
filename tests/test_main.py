"""End to end: main.py trains, validates, checkpoints, resumes and tests on generated videos."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import main
from paddlevideo.utils.checkpoint import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_CFG = os.path.join(ROOT, "configs", "recognition", "tokshift", "demo_tokshift_tiny.yaml")


def tiny_args(demo, out, epochs=2, extra=()):
    """Overrides shrinking the demo config to a 32 px, 4-frame, depth-2 model on ``demo``."""
    sets = [f"output_dir={out}", f"epochs={epochs}", "MODEL.backbone.img_size=32", "MODEL.backbone.embed_dim=64",
            "MODEL.backbone.depth=2", "MODEL.backbone.num_heads=4", "MODEL.backbone.num_seg=4",
            "MODEL.head.in_channels=64", "INFERENCE.num_seg=4", "INFERENCE.target_size=32",
            "DATASET.batch_size=4", "DATASET.num_workers=1", "DATASET.valid_batch_size=3",
            "DATASET.test_batch_size=3", "save_interval=1", "log_interval=2"]
    for mode in ("train", "valid", "test"):
        sets += [f"PIPELINE.{mode}.sample.num_seg=4", f"DATASET.{mode}.data_prefix={demo}/videos",
                 f"DATASET.{mode}.file_path={demo}/{'train' if mode == 'train' else 'val'}.list"]
    sets += ["PIPELINE.train.transform.0.JitterScale={'min_size': 32, 'max_size': 36}",
             "PIPELINE.train.transform.1.RandomCrop.target_size=32",
             "PIPELINE.valid.transform.0.Scale.short_size=32", "PIPELINE.valid.transform.1.CenterCrop.target_size=32",
             "PIPELINE.test.transform.0.Scale.short_size=32", "PIPELINE.test.transform.1.CenterCrop.target_size=32"]
    args = ["-c", DEMO_CFG]
    for item in sets + list(extra):
        args += ["-o", item]
    return args


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
                     "clips/s", "eta:", "validation: loss", "new best top1"):
        assert expected in log
    assert log.count("--amp requested but no GPU") == 1


def test_test_mode_reports_accuracy(trained, demo_data):
    best = os.path.join(trained, "demo_tokshift_tiny_best.pdparams")
    assert main.main(tiny_args(demo_data, trained) + ["--test", "-w", best]) == 0
    results = json.load(open(os.path.join(trained, "test_results.json")))
    assert results["samples"] == 8 and 0.0 <= results["top1"] <= 1.0 and results["top5"] == 1.0


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


def test_broken_training_video_is_replaced_and_reported(demo_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(demo_data, data)
    (data / "videos" / "broken.avi").write_bytes(b"not a video at all")
    with open(data / "train.list", "a") as f:
        f.write("broken.avi 0\n" * 4)
    out = tmp_path / "out"
    assert main.main(tiny_args(data, out, epochs=1)) == 0
    log = open(out / "train.log").read()
    assert "video(s) failed to decode and were replaced" in log


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



def test_undecodable_test_video_is_a_clear_error_not_a_hang(trained, demo_data, tmp_path, capsys):
    """Paddle's DataLoader hangs when the dataset raises in its reader thread (num_workers 0);
    the in-process loader lets the error reach main.py, which names the file."""
    data = tmp_path / "data"
    shutil.copytree(demo_data, data)
    (data / "videos" / "broken.avi").write_bytes(b"not a video at all")
    with open(data / "val.list", "a") as f:
        f.write("broken.avi 0\n")
    best = os.path.join(trained, "demo_tokshift_tiny_best.pdparams")
    args = tiny_args(data, tmp_path / "out", extra=["DATASET.num_workers=0"]) + ["--test", "-w", best]
    assert main.main(args) == 2
    err = capsys.readouterr().err
    assert "broken.avi" in err and "Traceback" not in err
