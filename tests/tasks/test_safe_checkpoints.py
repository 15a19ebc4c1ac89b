"""Every command-line path that reads a user-supplied checkpoint refuses a malicious pickle before it runs,
and the RNG states in a ``.pdopt`` are plain data (older pickled blobs still resume, safely)."""
import importlib
import logging
import os
import pickle
import random

import numpy as np
import paddle
import pytest
from main_helpers import shrink_args
from pickle_helpers import SYSTEM, RunsCommand, write_malicious

import main
from paddlevideo.errors import ConfigError
from paddlevideo.tasks.train_checkpoint import load_checkpoint, plain_rng_states, restore_rng_states, rng_states
from paddlevideo.utils.checkpoint import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO_CFG = os.path.join(ROOT, "configs", "recognition", "tokshift", "demo_tokshift_tiny.yaml")
def tiny_args(demo, out, extra=()):
    return shrink_args(DEMO_CFG, out, data_prefix=f"{demo}/videos", train_list=f"{demo}/train.list",
                       val_list=f"{demo}/val.list", epochs=1, extra=extra)


def assert_refused(err: str, path: str, marker) -> None:
    """The one-line ``error:`` names the file and the callable, and the callable did not run."""
    message = [line for line in err.splitlines() if line.startswith("error:")][-1]
    assert f"refusing to load {path}" in message and SYSTEM in message
    assert not marker.exists()


@pytest.mark.parametrize("mode", ["train", "test"])
def test_main_w_refuses_malicious_weights(demo_data, tmp_path, capsys, mode):
    marker = tmp_path / "MARKER"
    evil = write_malicious(tmp_path / "evil.pdparams", marker)
    assert main.main(tiny_args(demo_data, tmp_path) + (["--test"] if mode == "test" else []) + ["-w", evil]) == 2
    assert_refused(capsys.readouterr().err, evil, marker)


def test_backbone_pretrained_refuses_malicious_weights(demo_data, tmp_path, capsys):
    marker = tmp_path / "MARKER"
    evil = write_malicious(tmp_path / "evil.pdparams", marker)
    assert main.main(tiny_args(demo_data, tmp_path, extra=[f"MODEL.backbone.pretrained={evil}"])) == 2
    assert_refused(capsys.readouterr().err, evil, marker)


@pytest.mark.parametrize("malicious_ext", [".pdparams", ".pdopt"])
def test_resume_refuses_a_malicious_file_of_the_pair(demo_data, tmp_path, capsys, malicious_ext):
    marker, prefix = tmp_path / "MARKER", tmp_path / "demo_tokshift_tiny_epoch_00001"
    paddle.save({"w": paddle.ones([2])}, f"{prefix}.pdparams")
    paddle.save({"optimizer": {}, "epoch": 1, "step": 0}, f"{prefix}.pdopt")
    evil = write_malicious(f"{prefix}{malicious_ext}", marker)
    assert main.main(tiny_args(demo_data, tmp_path / "out") + ["--resume", f"{prefix}.pdparams"]) == 2
    assert_refused(capsys.readouterr().err, evil, marker)


@pytest.fixture
def restore_logger():
    """Undo the handlers a tool's ``main`` adds, so later tests see the logger unchanged."""
    logger = logging.getLogger("paddlevideo")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    for handler in [h for h in logger.handlers if h not in saved[0]]:
        logger.removeHandler(handler)
    logger.setLevel(saved[1])
    logger.propagate = saved[2]


def tool_main(name: str):
    return importlib.import_module(f"tools.{name}").main


@pytest.mark.parametrize("tool", ["export_model", "convert_weights"])
def test_tools_refuse_malicious_weights(tmp_path, capsys, restore_logger, tool):
    marker = tmp_path / "MARKER"
    evil = write_malicious(tmp_path / "evil.pdparams", marker)
    if tool == "export_model":
        argv = ["-c", DEMO_CFG, "-p", evil, "-o", str(tmp_path / "export")]
    else:
        argv = [evil, str(tmp_path / "out.pdparams")]
    assert tool_main(tool)(argv) == 2
    assert_refused(capsys.readouterr().err, evil, marker)
    assert not (tmp_path / "out.pdparams").exists()


def draws():
    return random.random(), np.random.rand(), paddle.rand([3]).numpy().tolist()


def test_rng_states_round_trip_through_a_pdopt(tmp_path):
    paddle.seed(3)
    path = str(tmp_path / "state.pdopt")
    paddle.save({"rng": rng_states(), "epoch": 1}, path)
    expected = draws()
    restore_rng_states(plain_rng_states(load_file(path)["rng"], path))
    assert draws() == expected


def legacy_blob(states) -> np.ndarray:
    """The ``rng`` entry as checkpoints before plain RNG data wrote it."""
    return np.frombuffer(pickle.dumps(states), dtype=np.uint8).copy()


def test_checkpoints_with_a_pickled_rng_blob_still_resume(tmp_path):
    paddle.seed(4)
    prefix = str(tmp_path / "old_epoch_00001")
    paddle.save({"w": paddle.ones([2])}, prefix + ".pdparams")
    blob = legacy_blob({"python": random.getstate(), "numpy": np.random.get_state(),
                        "paddle": paddle.get_rng_state()})
    paddle.save({"optimizer": {}, "epoch": 1, "step": 0, "rng": blob}, prefix + ".pdopt")
    expected = draws()
    _, state = load_checkpoint(prefix)
    restore_rng_states(state["rng"])
    assert draws() == expected


def test_a_malicious_rng_blob_is_refused(tmp_path):
    marker, prefix = tmp_path / "MARKER", str(tmp_path / "old_epoch_00001")
    paddle.save({"w": paddle.ones([2])}, prefix + ".pdparams")
    blob = legacy_blob({"python": RunsCommand(f"touch {marker}")})
    paddle.save({"optimizer": {}, "epoch": 1, "step": 0, "rng": blob}, prefix + ".pdopt")
    with pytest.raises(ConfigError) as err:
        load_checkpoint(prefix)
    assert f"the RNG states in {prefix}.pdopt" in str(err.value) and SYSTEM in str(err.value)
    assert not marker.exists()
