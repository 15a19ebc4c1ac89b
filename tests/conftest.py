"""Shared fixtures: tiny model configs and a tiny generated demo dataset."""
import copy
import logging

import pytest

TINY_MODEL = {
    "framework": "RecognizerTransformer",
    "backbone": {"name": "TokenShiftVisionTransformer", "img_size": 32, "patch_size": 16, "embed_dim": 64,
                 "depth": 2, "num_heads": 4, "num_seg": 4, "shift_div": 4},
    "head": {"name": "TokenShiftHead", "num_classes": 5, "in_channels": 64},
}


@pytest.fixture
def tiny_model_cfg():
    return copy.deepcopy(TINY_MODEL)


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory):
    """A tiny time-reversed-pairs dataset (4 classes, 32 px, 8 frames) generated once per session."""
    from generate_demo_data import generate  # data/generate_demo_data.py (pytest pythonpath)
    out = tmp_path_factory.mktemp("demo")
    generate(str(out), train_per_class=4, val_per_class=2, frames=8, size=32, pairs=2, seed=0)
    return out


@pytest.fixture
def log_lines():
    """Messages of the ``paddlevideo`` logger (INFO and above) while the test runs."""
    lines = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = logging.getLogger("paddlevideo")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(level)
