"""Tests for data/generate_demo_data.py (tiny settings, real .avi files)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import decord
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "data" / "generate_demo_data.py"
TINY = {"train_per_class": 3, "val_per_class": 2, "frames": 8, "size": 32, "pairs": 4, "seed": 0}
NUM_CLASSES = 2 * TINY["pairs"]
# A pixel belongs to the object if its L1 distance (over RGB) to the frame's
# corner colour exceeds this; the generator guarantees >= 240 - 3 * 24 = 168.
OBJECT_THRESHOLD = 120


def _load_module():
    """Imports data/generate_demo_data.py (``data/`` is not a package), reusing a prior import."""
    if "generate_demo_data" in sys.modules:
        return sys.modules["generate_demo_data"]
    spec = importlib.util.spec_from_file_location("generate_demo_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


gdd = _load_module()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return gdd.generate(tmp_path_factory.mktemp("demo"), **TINY)


def _read_list(path: Path) -> list[tuple[str, int]]:
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        relative, label = line.split()
        entries.append((relative, int(label)))
    return entries


def _decode(path: Path) -> np.ndarray:
    reader = decord.VideoReader(str(path))
    return reader.get_batch(list(range(len(reader)))).asnumpy()


def _masks(clip: np.ndarray) -> np.ndarray:
    """Boolean ``(T, H, W)`` object masks: pixels far from the top-left corner colour."""
    corner = clip[:, :1, :1, :].astype(np.int32)
    return np.abs(clip.astype(np.int32) - corner).sum(axis=-1) > OBJECT_THRESHOLD


def _orientation(mask: np.ndarray) -> float:
    """Principal-axis angle of a mask; increasing means clockwise on screen (y down)."""
    ys, xs = np.nonzero(mask)
    xs, ys = xs - xs.mean(), ys - ys.mean()
    return 0.5 * np.arctan2(2 * (xs * ys).mean(), (xs**2).mean() - (ys**2).mean())


def _temporal_trend(kind: str, clip: np.ndarray) -> float:
    """Signed measure that is positive for forward clips of the pair whose forward class is ``kind``."""
    if kind == "brightening":
        means = clip.astype(np.float64).mean(axis=(1, 2, 3))
        return float(means[-1] - means[0])
    masks = _masks(clip)
    assert masks.any(axis=(1, 2)).all()
    if kind == "moving_right":
        xs = [np.nonzero(m)[1].mean() for m in masks]
        return xs[-1] - xs[0]
    if kind == "growing":
        areas = masks.sum(axis=(1, 2))
        return float(areas[-1] - areas[0])
    diffs = np.diff([_orientation(m) for m in masks])
    return float(((diffs + np.pi / 2) % np.pi - np.pi / 2).sum())


def test_outputs_exist_and_decode(dataset: dict) -> None:
    for key in ("train_list", "val_list", "classes_file", "manifest"):
        assert dataset[key].is_file()
    assert not dataset["skipped"]
    for split in ("train_list", "val_list"):
        for relative, _ in _read_list(dataset[split]):
            clip = _decode(dataset["videos_dir"] / relative)
            assert clip.shape == (TINY["frames"], TINY["size"], TINY["size"], 3)
            assert clip.dtype == np.uint8


def test_lists_and_classes(dataset: dict) -> None:
    classes = dataset["classes_file"].read_text(encoding="utf-8").splitlines()
    assert classes == [f"{i} {name}" for i, name in enumerate(gdd.class_names(TINY["pairs"]))]
    assert dataset["classes"] == [line.split()[1] for line in classes]
    for split, per_class in (("train_list", 3), ("val_list", 2)):
        entries = _read_list(dataset[split])
        assert len(entries) == per_class * NUM_CLASSES == dataset[f"num_{split[:-5]}"]
        labels = [label for _, label in entries]
        assert set(labels) == set(range(NUM_CLASSES))
        for relative, label in entries:
            assert not Path(relative).is_absolute() and relative.endswith(".avi")
            assert relative.split("/")[0] == dataset["classes"][label]
    train = {relative for relative, _ in _read_list(dataset["train_list"])}
    assert train.isdisjoint(relative for relative, _ in _read_list(dataset["val_list"]))


def test_class_pairs_are_time_reversals(dataset: dict) -> None:
    for relative, label in _read_list(dataset["train_list"]) + _read_list(dataset["val_list"]):
        trend = _temporal_trend(gdd.PAIR_KINDS[label // 2].forward, _decode(dataset["videos_dir"] / relative))
        assert (trend > 0) if label % 2 == 0 else (trend < 0), (relative, trend)


def test_reversed_class_is_reversed_fresh_forward_clip() -> None:
    frames, size = 6, 32
    for label in range(1, 2 * len(gdd.PAIR_KINDS), 2):
        clip = gdd.render_clip(label, gdd.clip_rng(5, "train", label, 0), frames, size)
        kind = gdd.PAIR_KINDS[label // 2]
        forward = gdd.render_forward_clip(kind, gdd.clip_rng(5, "train", label, 0), frames, size)
        np.testing.assert_array_equal(clip, forward[::-1])
        other = gdd.render_clip(label - 1, gdd.clip_rng(5, "train", label - 1, 0), frames, size)
        assert not np.array_equal(clip[::-1], other)


def test_deterministic_for_fixed_seed(dataset: dict, tmp_path: Path) -> None:
    again = gdd.generate(tmp_path / "same", **TINY)
    other = gdd.generate(tmp_path / "other", **{**TINY, "seed": 1})
    for name in ("train.list", "val.list", "classes.txt"):
        assert (again["out_dir"] / name).read_bytes() == (dataset["out_dir"] / name).read_bytes()
    entries = _read_list(dataset["train_list"])
    differs = False
    for relative, _ in entries:
        first = _decode(dataset["videos_dir"] / relative)
        np.testing.assert_array_equal(first, _decode(again["videos_dir"] / relative))
        differs |= not np.array_equal(first, _decode(other["videos_dir"] / relative))
    assert differs


def test_complete_dataset_is_not_regenerated_unless_forced(tmp_path: Path) -> None:
    params = {**TINY, "pairs": 1, "train_per_class": 1, "val_per_class": 1}
    first = gdd.generate(tmp_path, **params)
    video = first["videos_dir"] / "growing" / "train_0000.avi"
    watched = [video, first["train_list"], first["manifest"]]
    for path in watched:
        os.utime(path, ns=(10**18, 10**18))
    assert gdd.generate(tmp_path, **params)["skipped"]
    assert all(path.stat().st_mtime_ns == 10**18 for path in watched)
    forced = gdd.generate(tmp_path, **params, force=True)
    assert not forced["skipped"]
    assert all(path.stat().st_mtime_ns != 10**18 for path in watched)


def test_incomplete_dataset_is_regenerated(tmp_path: Path) -> None:
    params = {**TINY, "pairs": 1, "train_per_class": 1, "val_per_class": 1}
    gdd.generate(tmp_path, **params)
    (tmp_path / "videos" / "shrinking" / "val_0000.avi").unlink()
    assert not gdd.generate(tmp_path, **params)["skipped"]
    assert (tmp_path / "videos" / "shrinking" / "val_0000.avi").is_file()
    (tmp_path / gdd.MANIFEST_NAME).unlink()
    assert not gdd.generate(tmp_path, **params)["skipped"]


def test_other_params_on_complete_dataset_require_force(tmp_path: Path) -> None:
    params = {**TINY, "pairs": 1, "train_per_class": 1, "val_per_class": 1}
    gdd.generate(tmp_path, **params)
    with pytest.raises(FileExistsError):
        gdd.generate(tmp_path, **{**params, "seed": 3})
    assert not gdd.generate(tmp_path, **{**params, "seed": 3}, force=True)["skipped"]


@pytest.mark.parametrize("bad", [{"pairs": 0}, {"pairs": 5}, {"frames": 1}, {"size": 16}])
def test_invalid_parameters(tmp_path: Path, bad: dict) -> None:
    with pytest.raises(ValueError):
        gdd.generate(tmp_path, **{**TINY, **bad})


def test_cli(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    args = [sys.executable, str(SCRIPT), "--out", str(out), "--train-per-class", "1",
            "--val-per-class", "1", "--frames", "4", "--size", "32", "--pairs", "1"]
    result = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert _read_list(out / "train.list") == [
        ("growing/train_0000.avi", 0), ("shrinking/train_0000.avi", 1)]
    assert "skipped" in subprocess.run(args, capture_output=True, text=True, cwd=ROOT).stdout
