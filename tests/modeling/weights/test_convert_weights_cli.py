"""``tools/convert_weights.py SRC DST [-c CONFIG]``: summary, strict verification, atomic output."""
import os
import subprocess
import sys

import numpy as np
import paddle
import pytest
from tokshift_reference_helpers import random_google_vit
from weights_helpers import OFFICIAL_NPZ, OFFICIAL_PTH

from paddlevideo.modeling.weights import read_weights

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TOOL = os.path.join(ROOT, "tools", "convert_weights.py")
DEMO_CONFIG = os.path.join(ROOT, "configs", "recognition", "tokshift", "demo_tokshift_tiny.yaml")
FIT_FIXTURE = ["-o", "MODEL.backbone.patch_size=8", "-o", "MODEL.backbone.embed_dim=24",
               "-o", "MODEL.backbone.depth=2", "-o", "MODEL.backbone.mlp_ratio=2.0",
               "-o", "MODEL.head.num_classes=5", "-o", "MODEL.head.in_channels=24"]


@pytest.fixture
def cli(restore_logger):
    from tools.convert_weights import main
    return main


def test_script_runs_from_the_repo_root(tmp_path):
    dst = tmp_path / "tokshift.pdparams"
    run = subprocess.run([sys.executable, "tools/convert_weights.py", OFFICIAL_PTH, str(dst)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "format: official-pth" in run.stdout and "num_classes: 5" in run.stdout
    saved = paddle.load(str(dst))
    for key, value in read_weights(OFFICIAL_PTH).state.items():
        np.testing.assert_array_equal(saved[key].numpy(), value, err_msg=key)


def test_verifies_against_a_config_with_another_resolution(cli, tmp_path, capsys):
    dst = tmp_path / "tokshift.pdparams"
    assert cli([OFFICIAL_NPZ, str(dst), "-c", DEMO_CONFIG] + FIT_FIXTURE) == 0
    out = capsys.readouterr().out
    assert "num_heads: 3" in out and "pos_grid: 4x4 (img_size 32)" in out and "verified" in out
    assert paddle.load(str(dst))["backbone.pos_embed"].shape == [1, 17, 24]  # the file's own grid


def test_config_mismatch_fails_and_writes_nothing(cli, tmp_path, capsys):
    dst = tmp_path / "tokshift.pdparams"
    assert cli([OFFICIAL_PTH, str(dst), "-c", DEMO_CONFIG]) == 2
    assert "do not fit the model" in capsys.readouterr().err
    assert not dst.exists()


def test_file_without_classifier_is_not_a_full_model(cli, tmp_path, capsys):
    weights = random_google_vit(seed=4)
    del weights["head/kernel"], weights["head/bias"]
    src = tmp_path / "ViT-headless.npz"
    np.savez(src, **weights)
    assert cli([str(src), str(tmp_path / "out.pdparams")]) == 2
    assert "MODEL.backbone.pretrained" in capsys.readouterr().err


def test_unknown_file_is_an_error_not_a_traceback(cli, tmp_path, capsys):
    src = tmp_path / "weights.bin"
    src.write_bytes(b"\x89PNG not weights")
    assert cli([str(src), str(tmp_path / "out.pdparams")]) == 2
    assert capsys.readouterr().err.startswith("error:")
