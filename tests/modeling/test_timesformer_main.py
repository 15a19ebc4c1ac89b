"""End to end with TimeSformer: ``main.py`` trains (validation, accumulation), resumes and tests 3 views.

The shipped demo config shrunk to a 32 px, 4-frame, depth-2 model on the session's generated demo
videos; test-time views are PaddleVideo's 1 clip x 3 UniformCrop crops.
"""
import json
import os

import pytest
from main_helpers import shrink_args

import main
from paddlevideo.config import check_config, get_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG_DIR = os.path.join(ROOT, "configs", "recognition", "timesformer")
DEMO_CFG = os.path.join(CONFIG_DIR, "demo_timesformer_tiny.yaml")
NAME = "demo_timesformer_tiny"


def tiny_args(demo, out, epochs=2, extra=()):
    """Overrides shrinking the demo config to a 32 px, 4-frame, depth-2 model on ``demo``, tested with
    PaddleVideo's 3 UniformCrop views and accumulating 2 batches of 2."""
    return shrink_args(DEMO_CFG, out, data_prefix=f"{demo}/videos", train_list=f"{demo}/train.list",
                       val_list=f"{demo}/val.list", epochs=epochs, batch_size=2, num_workers=0,
                       test_crop="UniformCrop", extra=extra,
                       sets=["INFERENCE.views=3", "GRADIENT_ACCUMULATION={'global_batch_size': 4}"])


@pytest.fixture(scope="module")
def trained(demo_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("timesformer_run")
    assert main.main(tiny_args(demo_data, out) + ["--validate", "--amp", "--seed", "0"]) == 0
    return out


def test_training_validates_accumulates_and_checkpoints(trained):
    names = set(os.listdir(trained))
    assert {f"{NAME}_best.pdparams", f"{NAME}_epoch_00001.pdparams", f"{NAME}_epoch_00002.pdparams",
            f"{NAME}_epoch_00002.pdopt"} <= names
    log = open(os.path.join(trained, "train.log")).read()
    for expected in ("model: VisionTransformer + TimeSformerHead", "epoch [2/2] batch 8/8", "loss:",
                     "validation: 8 of 8 videos scored", "new best top1"):
        assert expected in log, expected


def test_resume_continues_from_the_epoch(trained, demo_data, tmp_path):
    ckpt = os.path.join(trained, f"{NAME}_epoch_00001.pdparams")
    out = tmp_path / "resumed"
    assert main.main(tiny_args(demo_data, out) + ["--resume", ckpt]) == 0
    log = open(out / "train.log").read()
    assert "resumed from" in log and "epoch [1/2]" not in log and "epoch [2/2] batch 8/8" in log


def test_test_mode_scores_three_uniform_crop_views(trained, demo_data):
    best = os.path.join(trained, f"{NAME}_best.pdparams")
    assert main.main(tiny_args(demo_data, trained) + ["--test", "-w", best]) == 0
    results = json.load(open(os.path.join(trained, "test_results.json")))
    assert results["scored"] == results["videos"] == 8 and results["failed"] == 0
    assert results["views"] == 3 and 0.0 <= results["top1"] <= 1.0


@pytest.mark.parametrize("name", sorted(n for n in os.listdir(CONFIG_DIR) if n.endswith(".yaml")))
def test_shipped_configs_pass_the_config_check(name):
    cfg = get_config(os.path.join(CONFIG_DIR, name), show=False)
    check_config(cfg)
    backbone = cfg["MODEL"]["backbone"]
    assert backbone["name"] == "VisionTransformer" and backbone["epsilon"] == 1e-6
    assert cfg["MODEL"]["head"]["in_channels"] == backbone["embed_dim"]
