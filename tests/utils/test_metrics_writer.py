"""MetricsWriter: writes through VisualDL's LogWriter when enabled on rank 0, warns once when VisualDL is
missing, and never imports it when disabled."""
import importlib.abc
import logging
import sys
import types

import numpy as np
import pytest

from paddlevideo.utils import metrics_writer
from paddlevideo.utils.logger import LOGGER_NAME
from paddlevideo.utils.metrics_writer import MetricsWriter


class FakeLogWriter:
    """Records what VisualDL's LogWriter would be asked to do."""

    instances = []

    def __init__(self, logdir):
        self.logdir, self.scalars, self.closed = logdir, [], 0
        FakeLogWriter.instances.append(self)

    def add_scalar(self, tag, value, step, walltime=None):
        self.scalars.append((tag, value, step))

    def close(self):
        self.closed += 1


@pytest.fixture
def fake_visualdl(monkeypatch):
    FakeLogWriter.instances = []
    module = types.ModuleType("visualdl")
    module.LogWriter = FakeLogWriter
    monkeypatch.setitem(sys.modules, "visualdl", module)
    return FakeLogWriter.instances


@pytest.fixture
def warnings_log(monkeypatch, caplog):
    """Warnings of the ``paddlevideo`` logger (which may not propagate to the root logger)."""
    monkeypatch.setattr(metrics_writer, "_warned_missing", False)
    logger = logging.getLogger(LOGGER_NAME)
    monkeypatch.setattr(logger, "propagate", False)  # caplog's root handler would see each record twice
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.WARNING, logger=LOGGER_NAME)
    yield caplog
    logger.removeHandler(caplog.handler)


class ImportForbidden(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "visualdl" or name.startswith("visualdl."):
            raise AssertionError(f"{name} was imported")
        return None


@pytest.fixture
def forbid_visualdl_import(monkeypatch):
    monkeypatch.delitem(sys.modules, "visualdl", raising=False)
    monkeypatch.setattr(sys, "meta_path", [ImportForbidden()] + sys.meta_path)


def test_writes_prefixed_scalars_on_rank_0(fake_visualdl, tmp_path):
    log_dir = tmp_path / "visualdl"
    writer = MetricsWriter(str(log_dir), enabled=True, rank=0)
    assert writer.active and log_dir.is_dir()
    writer.scalars("train", {"loss": np.float32(0.75), "lr": 0.1, "top1": 0.5, "clips_per_s": 12}, step=20)
    writer.scalars("val", {"top1": 0.625}, step=1)
    writer.close()
    writer.close()
    [vdl] = fake_visualdl
    assert vdl.logdir == str(log_dir)
    assert vdl.scalars == [("train/loss", 0.75, 20), ("train/lr", 0.1, 20), ("train/top1", 0.5, 20),
                           ("train/clips_per_s", 12.0, 20), ("val/top1", 0.625, 1)]
    assert all(type(value) is float and type(step) is int for _, value, step in vdl.scalars)
    assert vdl.closed == 1
    writer.scalars("train", {"loss": 1.0}, step=21)  # after close: ignored, no error
    assert len(vdl.scalars) == 5


def test_context_manager_closes(fake_visualdl, tmp_path):
    with MetricsWriter(str(tmp_path), enabled=True, rank=0) as writer:
        writer.scalars("val", {"loss": 1.5}, step=3)
    assert fake_visualdl[0].closed == 1


@pytest.mark.parametrize("enabled,rank", [(False, 0), (False, 1), (True, 1)])
def test_disabled_or_other_rank_never_imports_visualdl(forbid_visualdl_import, tmp_path, enabled, rank):
    log_dir = tmp_path / "visualdl"
    writer = MetricsWriter(str(log_dir), enabled=enabled, rank=rank)
    writer.scalars("train", {"loss": 0.5}, step=1)
    writer.close()
    assert not writer.active and not log_dir.exists()
    assert "visualdl" not in sys.modules


def test_missing_visualdl_warns_once_and_no_ops(monkeypatch, warnings_log, tmp_path):
    monkeypatch.setitem(sys.modules, "visualdl", None)  # makes ``import visualdl`` raise ImportError
    writers = [MetricsWriter(str(tmp_path / "visualdl"), enabled=True, rank=0) for _ in range(2)]
    for writer in writers:
        assert not writer.active
        writer.scalars("train", {"loss": 0.5}, step=1)
        writer.close()
    messages = [r.getMessage() for r in warnings_log.records if r.levelno == logging.WARNING]
    assert len(messages) == 1
    assert "pip install visualdl" in messages[0] and "use_visualdl" in messages[0]


def test_real_visualdl_round_trip(tmp_path):
    """With VisualDL installed (optional), the scalars can be read back from the record file."""
    visualdl = pytest.importorskip("visualdl")
    log_dir = tmp_path / "visualdl"
    with MetricsWriter(str(log_dir), enabled=True, rank=0) as writer:
        for step in (1, 2):
            writer.scalars("train", {"loss": 1.0 / step, "lr": 0.1}, step)
    [record] = list(log_dir.iterdir())
    reader = visualdl.LogReader(file_path=str(record))
    assert {"train/loss", "train/lr"} <= set(reader.get_tags()["scalar"])
    assert [(s.id, s.value) for s in reader.get_data("scalar", "train/loss")] == [(1, 1.0), (2, 0.5)]


def test_training_with_use_visualdl_logs_train_and_validation_scalars(fake_visualdl, demo_data, tmp_path):
    from test_main import tiny_args

    import main

    assert main.main(tiny_args(demo_data, tmp_path, epochs=2, extra=["use_visualdl=True"]) + ["--validate"]) == 0
    (writer,) = fake_visualdl
    tags = {tag for tag, _, _ in writer.scalars}
    assert {"train/loss", "train/lr", "train/top1", "train/clips_per_s", "val/top1", "val/loss"} <= tags
    assert [step for tag, _, step in writer.scalars if tag == "val/top1"] == [1, 2]
    assert writer.closed == 1 and writer.logdir == str(tmp_path / "visualdl")
