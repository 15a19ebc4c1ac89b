"""Two CPU processes through paddle.distributed.launch: training runs and evaluation sees every clip once."""
import json
import os
import shlex
import shutil
import subprocess
import sys

from test_main import ROOT, tiny_args


def launch(args, log_dir):
    cmd = [sys.executable, "-m", "paddle.distributed.launch", "--log_dir", str(log_dir),
           "--nproc_per_node", "2", os.path.join(ROOT, "main.py")] + args
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, f"{shlex.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


def test_two_process_train_then_test_matches_single_process(demo_data, tmp_path):
    """9 validation clips over 2 ranks: the sampler pads to 10; results must still count 9."""
    data = tmp_path / "data"
    shutil.copytree(demo_data, data)
    with open(data / "val.list", "a") as f:
        f.write(open(data / "val.list").readline())
    demo_data = data
    out = tmp_path / "dist"
    launch(tiny_args(demo_data, out, epochs=1, extra=["DATASET.valid_batch_size=3"]) + ["--validate"],
           tmp_path / "log_train")
    log = open(out / "train.log").read()
    assert "validation: 9 of 9 videos scored, 0 failed" in log
    weights = str(out / "demo_tokshift_tiny_epoch_00001.pdparams")
    launch(tiny_args(demo_data, out) + ["--test", "-w", weights], tmp_path / "log_test")
    dist_results = json.load(open(out / "test_results.json"))
    single = tmp_path / "single"
    subprocess.run([sys.executable, os.path.join(ROOT, "main.py")] + tiny_args(demo_data, single)
                   + ["--test", "-w", weights], check=True, capture_output=True, cwd=ROOT)
    single_results = json.load(open(single / "test_results.json"))
    assert dist_results["scored"] == single_results["scored"] == dist_results["videos"] == 9
    assert abs(dist_results["top1"] - single_results["top1"]) < 1e-9
    assert abs(dist_results["loss"] - single_results["loss"]) < 1e-5
