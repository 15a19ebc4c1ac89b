"""PaddleVideo's own configs on our code, byte for byte as PaddleVideo ships them (Apache-2.0, commit
ed245e9 of PaddlePaddle/PaddleVideo): ``tests/fixtures/paddlevideo_tokshift_ucf101.yaml`` is its
``configs/recognition/token_transformer/tokShift_transformer_ucf101_256_videos.yaml`` and
``tests/fixtures/paddlevideo_timesformer_k400.yaml`` its ``configs/recognition/timesformer/timesformer_k400_videos.yaml``.

They load unchanged; what each of their keys means here (inert keys named in one log line, PaddleVideo's
transform order run with identical results, MultiCenterCrop, runtime_cfg, ClipGradByGlobalNorm, the
pyav decoder, read with decord when PyAV is not installed); typos in them still fail with the nearest
names; and a tiny copy of each trains, tests, exports and predicts through main.py and the tools.
"""
import copy
import csv
import functools
import glob
import importlib.util
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from paddlevideo.config import get_config
from paddlevideo.config.paddlevideo_compat import pipeline_views
from paddlevideo.loader.pipelines import Compose, MultiCenterCrop, ThreeCrop, VideoDecoder
from paddlevideo.registry import ConfigError

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "paddlevideo_tokshift_ucf101.yaml"
TIMESFORMER_FIXTURE = ROOT / "tests" / "fixtures" / "paddlevideo_timesformer_k400.yaml"
HAVE_PYAV = importlib.util.find_spec("av") is not None
INERT = ["INFERENCE.name", "PIPELINE.train.decode.mode", "PIPELINE.valid.decode.mode",
         "PIPELINE.test.decode.mode", "MODEL.backbone.attention_type"]


class Records(logging.Handler):
    """Collects the messages of the ``paddlevideo`` logger (which may not propagate to pytest)."""

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append((record.levelno, record.getMessage()))


@pytest.fixture
def records():
    handler = Records()
    logger = logging.getLogger("paddlevideo")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def load_fixture(path: Path = FIXTURE) -> dict:
    """A fixture as a plain dict, keys in file order (``1e-6`` read as PaddleVideo means it)."""
    raw = yaml.safe_load(path.read_text())
    raw["MODEL"]["backbone"]["epsilon"] = 1e-6  # safe_load reads PaddleVideo's 1e-6 as a string
    return raw


def edit_tokens(source: str, text: str, replacement: str) -> str:
    """``source`` with its one occurrence of ``text`` replaced, token by token: whitespace (PaddleVideo's
    indentation, line breaks) is matched loosely and kept, so the edits read as plain YAML."""
    old, new = text.split(), replacement.split()
    assert len(old) == len(new), (text, replacement)
    found = list(re.finditer(r"\s+".join(map(re.escape, old)), source))
    assert len(found) == 1, text
    parts = re.split(r"(\s+)", found[0].group())
    parts[::2] = new
    return source[:found[0].start()] + "".join(parts) + source[found[0].end():]


def assert_edit_fails(tmp_path: Path, text: str, replacement: str, expected: str) -> None:
    """The fixture with its one occurrence of ``text`` replaced fails to load with ``expected``."""
    path = tmp_path / "edited.yaml"
    path.write_text(edit_tokens(FIXTURE.read_text(), text, replacement))
    with pytest.raises(ConfigError, match=expected):
        get_config(str(path), show=False)


def write_config(path: Path, raw: dict) -> Path:
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# Loading unchanged, and what the keys mean


def test_loads_unchanged_and_names_the_inert_keys_in_one_line(records):
    cfg = get_config(str(FIXTURE), show=False)
    warnings = [msg for level, msg in records.messages if level == logging.WARNING]
    assert warnings == [f"PaddleVideo config keys accepted without effect: {', '.join(INERT)}"]
    assert "attention_type" not in cfg.MODEL.backbone and "name" not in cfg.INFERENCE
    assert all("mode" not in cfg.PIPELINE[m].decode for m in ("train", "valid", "test"))
    # keys with a meaning stay and are checked like ours
    assert cfg.MODEL.runtime_cfg.test == {"num_seg": 8, "avg_type": "score"}
    assert cfg.PIPELINE.test.decode == {"name": "VideoDecoder", "backend": "pyav", "num_seg": 8}
    assert cfg.OPTIMIZER.grad_clip == {"name": "ClipGradByGlobalNorm", "value": 1.0}
    # PaddleVideo's implicit meanings, filled in: dense sampling = 8 frames at stride 64 // 8,
    # and the export input holds the 3 MultiCenterCrop views
    assert cfg.PIPELINE.train.sample.dense_stride == 8 and cfg.PIPELINE.train.sample.clip_starts == "official"
    assert "dense_stride" not in cfg.PIPELINE.valid.sample
    assert cfg.INFERENCE.views == 3
    assert get_config(str(FIXTURE), show=False) == cfg  # the same every time


def test_timesformer_config_loads_unchanged_with_its_pyav_window(records):
    """PaddleVideo's TimeSformer K400 format: divided attention, linspace sampling over the pyav
    decoder's 8 x 32-frame window (random in train and valid, from the start in test), 3 UniformCrop
    views averaged as logits."""
    cfg = get_config(str(TIMESFORMER_FIXTURE), show=False)
    warnings = [msg for level, msg in records.messages if level == logging.WARNING]
    inert = ["INFERENCE.name"] + [f"PIPELINE.{m}.decode.mode" for m in ("train", "valid", "test")]
    assert warnings == [f"PaddleVideo config keys accepted without effect: {', '.join(inert)}"]
    assert cfg.MODEL.backbone.attention_type == "divided_space_time"  # a real key of this backbone
    for mode, valid_mode in (("train", False), ("valid", False), ("test", True)):
        sample = cfg.PIPELINE[mode].sample
        assert (sample.linspace_window, sample.valid_mode) == (256, valid_mode)
    assert cfg.INFERENCE.views == 3 and cfg.MODEL.runtime_cfg.test.avg_type == "score"


def test_timesformer_window_follows_the_decoders_sampling_rate(tmp_path):
    raw = load_fixture(TIMESFORMER_FIXTURE)
    raw["PIPELINE"]["train"]["decode"].update(sampling_rate=16, target_fps=25)
    raw["PIPELINE"]["valid"]["decode"].update(backend="decord")
    cfg = get_config(str(write_config(tmp_path / "c.yaml", raw)), show=False)
    assert cfg.PIPELINE.train.sample.linspace_window == 16 * 8
    assert "sampling_rate" not in cfg.PIPELINE.train.decode
    assert "linspace_window" not in cfg.PIPELINE.valid.sample  # decord: the whole video, as PaddleVideo


def test_our_keys_take_precedence_over_paddlevideo_defaults(tmp_path):
    raw = load_fixture()
    raw["PIPELINE"]["train"]["sample"]["dense_stride"] = 32
    cfg = get_config(str(write_config(tmp_path / "c.yaml", raw)), show=False)
    assert cfg.PIPELINE.train.sample.dense_stride == 32 and "clip_starts" not in cfg.PIPELINE.train.sample


def test_pipeline_views_agree_with_every_shipped_config():
    for path in glob.glob(str(ROOT / "configs" / "recognition" / "*" / "*.yaml")):
        cfg = get_config(path, show=False)
        assert pipeline_views(cfg.PIPELINE.test) == cfg.INFERENCE.views, path


TYPOS = [  # (text in the fixture, its typo, what the error must name)
    ("attention_type: 'space_only'", "attention_typ: 'space_only'", r"attention_typ'.*\['attention_type'\]"),
    ("      num_seg: 8\n      avg_type", "      num_sge: 8\n      avg_type", r"num_sge'.*\['num_seg'\]"),
    ("test: # test config", "tset: # test config", r"tset'.*\['test'\]"),
    ("mode: 'valid'", "mdoe: 'valid'", r"mdoe'.*\['mode'\]"),
    ("tensor_shape: [1, 1, 1, 3]\n      - Image2Array:\n          data_format: 'cthw'\n      - JitterScale:\n"
     "          min_size: 256\n          max_size: 380",
     "tensor_shap: [1, 1, 1, 3]\n      - Image2Array:\n          data_format: 'cthw'\n      - JitterScale:\n"
     "          min_size: 256\n          max_size: 380", r"tensor_shap'.*'tensor_shape'"),
    ("- MultiCenterCrop:", "- MultiCentreCrop:", r"MultiCentreCrop'.*'MultiCenterCrop'"),
    ("name: 'ClipGradByGlobalNorm'", "name: 'ClipGradByGlobalNrom'", r"\['ClipGradByGlobalNorm'\]"),
    ("    value: 1.0", "    vaule: 1.0", r"vaule'.*\['value'\]"),
    ("name: 'TokenShift_Inference_helper'", "nmae: 'TokenShift_Inference_helper'", r"nmae'.*\['name'\]"),
    ("dense_sample: True", "dense_sampel: True", r"dense_sampel'.*'dense_sample'"),
    ("ls_eps: 0.01", "ls_esp: 0.01", r"ls_esp'.*'ls_eps'"),
    ("backend: 'pyav'\n      mode: 'train'", "backnd: 'pyav'\n      mode: 'train'", r"backnd'.*'backend'"),
]


@pytest.mark.parametrize("text, typo, expected", TYPOS, ids=[t[1].split(":")[0].strip(" -") for t in TYPOS])
def test_typos_in_a_paddlevideo_config_fail_with_the_nearest_names(tmp_path, text, typo, expected):
    assert_edit_fails(tmp_path, text, typo, expected)


@pytest.mark.parametrize("text, wrong, expected", [
    ("attention_type: 'space_only'", "attention_type: 'divided_space_time'", "space only"),
    ("mode: 'test'", "mode: 'tset'", r"mode: expected one of \['train', 'valid', 'test'\]"),
    ("name: 'TokenShift_Inference_helper'", "name: 3", "INFERENCE.name: expected a string"),
    ("test: # test config\n      num_seg: 8", "test: # test config\n      num_seg: 4",
     r"runtime_cfg.test.num_seg \(4\) must equal"),
    ("      mode: 'train'\n      num_seg: 8", "      mode: 'train'\n      num_seg: 16",
     r"decode.num_seg \(16\)"),
    ("tensor_shape: [1, 1, 1, 3]\n      - Image2Array:\n          data_format: 'cthw'\n      - JitterScale:\n"
     "          min_size: 256\n          max_size: 256\n      - MultiCenterCrop:\n          target_size: 256",
     "tensor_shape: [1, 1, 1, 3]\n      - Image2Array:\n          data_format: 'cthw'\n      - JitterScale:\n"
     "          min_size: 256\n          max_size: 256\n      - MultiCenterCrop:\n          target_size: 224",
     r"MultiCenterCrop\).target_size \(224\) must equal"),
])
def test_values_without_a_meaning_here_fail(tmp_path, text, wrong, expected):
    assert_edit_fails(tmp_path, text, wrong, expected)


def test_runtime_cfg_sets_avg_type_and_must_agree_with_model_avg_type(tiny_model_cfg):
    from paddlevideo.modeling.builder import build_model

    tiny_model_cfg["runtime_cfg"] = {"test": {"num_seg": 4, "avg_type": "prob"}}
    assert build_model(tiny_model_cfg).avg_type == "prob"
    tiny_model_cfg["avg_type"] = "score"
    with pytest.raises(ConfigError, match="disagree"):
        build_model(tiny_model_cfg)
    tiny_model_cfg["runtime_cfg"] = {"test": {"num_seg": 8}}
    with pytest.raises(ConfigError, match=r"num_seg \(8\) must equal the backbone's num_seg \(4\)"):
        build_model(tiny_model_cfg)


@pytest.mark.parametrize("grad_clip", [{"name": "ClipGradByGlobalNorm", "value": 1.5},
                                       {"name": "ClipGradByGlobalNorm", "clip_norm": 1.5},
                                       {"name": "global", "value": 1.5}])
def test_grad_clip_by_global_norm_in_every_spelling(grad_clip):
    import paddle.nn as nn

    from paddlevideo.solver.optimizer import build_grad_clip

    clip = build_grad_clip(grad_clip)
    assert isinstance(clip, nn.ClipGradByGlobalNorm) and clip.clip_norm == 1.5


def test_grad_clip_with_two_norms_or_none_fails():
    from paddlevideo.solver.optimizer import build_grad_clip

    for bad in ({"name": "ClipGradByGlobalNorm"}, {"name": "global", "value": 1.0, "clip_norm": 2.0},
                {"name": "ClipGradByGlobalNorm", "value": -1.0}):
        with pytest.raises(ConfigError, match="grad_clip"):
            build_grad_clip(bad)


# ---------------------------------------------------------------------------------------------
# Pipelines: MultiCenterCrop, PaddleVideo's transform order, tensor_shape, the pyav decoder


def test_multi_center_crop_is_centre_left_right_vertically_centred():
    h, w, t, n = 40, 57, 32, 2
    ys, xs = np.mgrid[0:h, 0:w]
    frame = np.stack([ys, xs, np.zeros_like(xs)], axis=-1).astype(np.uint8)  # pixel = (y, x, 0)
    imgs = np.stack([frame] * n)
    out = MultiCenterCrop(t)({"imgs": imgs})["imgs"]
    assert out.shape == (3 * n, t, t, 3)
    assert [int(out[v * n, 0, 0, 1]) for v in range(3)] == [(w - t) // 2, 0, w - t]  # x of each view
    assert {int(out[v * n, 0, 0, 0]) for v in range(3)} == {(h - t) // 2}  # all vertically centred
    three = ThreeCrop(t, along="width")({"imgs": imgs})["imgs"]  # left, centre, right
    np.testing.assert_array_equal(out, np.concatenate([three[n:2 * n], three[:n], three[2 * n:]]))


COLOUR_OPS = ("RandomBrightness", "RandomSaturation", "RandomGamma", "RandomHue")


def tiny_transforms(raw: dict, mode: str, size: int = 32, colour_p: float = 1.0) -> list:
    """The fixture's transform list of ``mode`` at ``size`` px (colour ops applied with
    probability ``colour_p``; None keeps the file's)."""
    transforms = copy.deepcopy(raw["PIPELINE"][mode]["transform"])
    for item in transforms:
        (name, kwargs), = item.items()
        if kwargs is None:  # e.g. PaddleVideo's bare ``- RandomFlip:``
            continue
        if colour_p is not None and name in COLOUR_OPS:
            kwargs["p"] = colour_p
        if name == "JitterScale":
            kwargs.update(min_size=size, max_size=size + 6 if mode == "train" else size)
        if "target_size" in kwargs:
            kwargs["target_size"] = size
    return transforms


def format_steps_moved_last(transforms: list) -> list:
    steps = [item for item in transforms if next(iter(item)) in ("Normalization", "Image2Array")]
    return [item for item in transforms if item not in steps] + steps


def run_transforms(transforms: list, imgs: np.ndarray, seed: int) -> np.ndarray:
    np.random.seed(seed)
    return Compose({"transform": transforms})({"imgs": imgs.copy()})["imgs"]


@pytest.mark.parametrize("mode", ["train", "valid", "test"])
def test_paddlevideo_transform_order_gives_identical_clips(mode):
    """Normalization/Image2Array listed before the resize and crops (PaddleVideo) run last here:
    bit for bit the clip of the same list written in our order, random draws included."""
    raw = load_fixture()
    theirs = tiny_transforms(raw, mode)
    ours = format_steps_moved_last(theirs)
    assert [next(iter(i)) for i in theirs][-2:] in (["JitterScale", "RandomCrop"],
                                                    ["JitterScale", "MultiCenterCrop"])
    imgs = np.random.RandomState(0).randint(0, 256, (4, 40, 56, 3)).astype(np.uint8)
    for seed in range(8):
        a, b = run_transforms(theirs, imgs, seed), run_transforms(ours, imgs, seed)
        assert a.dtype == np.float32 and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    views = 3 if mode == "test" else 1
    assert a.shape == (3, 4 * views, 32, 32)


def test_paddlevideo_order_is_within_uint8_rounding_of_resizing_floats():
    """Against literally normalising first and resizing the floats, the resized pixels differ only by
    the resize's uint8 rounding (at most about one grey level: 2/255 after std 0.5)."""
    imgs = np.random.RandomState(1).randint(0, 256, (4, 40, 56, 3)).astype(np.uint8)
    ours = run_transforms(tiny_transforms(load_fixture(), "test"), imgs, seed=0)  # [3, 12, 32, 32]
    floats = (imgs.astype(np.float32) / 255 - 0.5) / 0.5
    resized = np.stack([cv2.resize(f, (45, 32), interpolation=cv2.INTER_LINEAR) for f in floats])
    views = [resized[:, :, x:x + 32] for x in (6, 0, 13)]  # centre, left, right
    literal = np.concatenate(views).transpose(3, 0, 1, 2)
    assert np.abs(ours - literal).max() <= 2.0 / 255 / 0.5 + 1e-6


def test_tensor_shape_must_describe_the_layout_where_it_is_listed():
    norm = {"mean": [0.5] * 3, "std": [0.5] * 3}
    crop = {"CenterCrop": {"target_size": 32}}
    with pytest.raises(ConfigError, match=r"use tensor_shape \[1, 1, 1, 3\]"):
        Compose({"transform": [{"Normalization": {**norm, "tensor_shape": [3, 1, 1]}}, {"Image2Array": None},
                               crop]})
    imgs = np.random.RandomState(2).randint(0, 256, (4, 40, 56, 3)).astype(np.uint8)
    # Image2Array first (PaddleVideo's TSM configs): channels-first tensor_shape, same clip as ours
    tchw_first = [{"Image2Array": {"data_format": "tchw"}},
                  {"Normalization": {**norm, "tensor_shape": [3, 1, 1]}}, crop]
    ours = [crop, {"Normalization": norm}, {"Image2Array": {"data_format": "tchw"}}]
    np.testing.assert_array_equal(run_transforms(tchw_first, imgs, 0), run_transforms(ours, imgs, 0))
    with pytest.raises(ConfigError, match="tensor_shape must be 1s and one 3"):
        Compose({"transform": [{"Normalization": {**norm, "tensor_shape": [1, 3, 3]}}]})


def test_colour_ops_cannot_follow_normalization():
    norm = {"Normalization": {"mean": [0.5] * 3, "std": [0.5] * 3}}
    with pytest.raises(ConfigError, match=r"transform\[1\] \(RandomHue\).*move RandomHue before"):
        Compose({"transform": [norm, {"RandomHue": {"p": 1.0}}]})


def test_pyav_backend_without_pyav_reads_with_decord_and_says_so_once(monkeypatch, request, records, tmp_path):
    from paddlevideo.loader.pipelines import decode

    monkeypatch.setitem(sys.modules, "av", None)  # import av -> ImportError
    decode.log_pyav_fallback.cache_clear()
    logger = logging.getLogger("paddlevideo")
    request.addfinalizer(functools.partial(logger.setLevel, logger.level))
    logger.setLevel(logging.INFO)
    cfg = get_config(str(FIXTURE), show=False)  # PaddleVideo's verbatim file, backend 'pyav' everywhere
    pipelines = [Compose(cfg.PIPELINE[mode]) for mode in ("train", "valid", "test")]
    notes = [msg for _, msg in records.messages if "PyAV is not installed" in msg]
    assert len(notes) == 1 and "decord" in notes[0]
    assert all(p.ops[0].backend == "decord" for p in pipelines)
    video = str(write_video(tmp_path / "v.avi", seed=0, frames=20))
    reader = VideoDecoder(backend="pyav")({"filename": video})["reader"]
    expected = VideoDecoder(backend="decord")({"filename": video})["reader"].read(np.arange(20))
    np.testing.assert_array_equal(reader.read(np.arange(20)), expected)


def write_video(path: Path, seed: int, frames: int = 12, width: int = 56, height: int = 40,
                step: int = 3) -> Path:
    """MJPG .avi of a smooth random pattern rolling ``step`` px per frame."""
    rng = np.random.RandomState(seed)
    base = cv2.resize(rng.randint(0, 256, (4, 5, 3)).astype(np.uint8), (width, height))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (width, height))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.roll(base, shift=step * i, axis=1))
    writer.release()
    return path


@pytest.mark.skipif(not HAVE_PYAV, reason="PyAV (pip install av) is optional")
def test_pyav_reads_the_frames_decord_reads(tmp_path):
    video = str(write_video(tmp_path / "v.avi", seed=0, frames=20))
    indices = np.array([0, 7, 7, 19, 3])
    results = {}
    for backend in ("pyav", "decord", "cv2"):
        reader = VideoDecoder(backend=backend)({"filename": video})["reader"]
        results[backend] = reader.read(indices)
        assert len(reader) == 20
    np.testing.assert_array_equal(results["pyav"], results["decord"])
    np.testing.assert_array_equal(results["pyav"], results["cv2"])


# ---------------------------------------------------------------------------------------------
# End to end: a tiny copy of the PaddleVideo config through main.py, export_model.py, predict.py

SIZE, NUM_SEG, EMBED = 32, 4, 64


def shrink(raw: dict, root: Path, backend: str) -> dict:
    """The fixture at 32 px, 4 frames, depth 2, on the videos under ``root`` (paths written in,
    as a user's own file would have them). Every PaddleVideo key stays."""
    raw = copy.deepcopy(raw)
    model = raw["MODEL"]
    model["backbone"].update(pretrained=None, img_size=SIZE, patch_size=8, embed_dim=EMBED, depth=2, num_heads=4,
                             num_seg=NUM_SEG)
    model["head"].update(num_classes=2, in_channels=EMBED)
    model["runtime_cfg"]["test"]["num_seg"] = NUM_SEG
    raw["DATASET"].update(batch_size=2, num_workers=0, valid_batch_size=2, valid_num_workers=0,
                          test_batch_size=2)
    for mode in ("train", "valid", "test"):
        raw["DATASET"][mode].update(data_prefix=str(root / "videos"),
                                    file_path=str(root / ("train.txt" if mode == "train" else "val.txt")))
        pipeline = raw["PIPELINE"][mode]
        pipeline["decode"].update(backend=backend, num_seg=NUM_SEG)
        pipeline["sample"]["num_seg"] = NUM_SEG
        pipeline["transform"] = tiny_transforms({"PIPELINE": {mode: pipeline}}, mode, SIZE, colour_p=None)
    raw["GRADIENT_ACCUMULATION"]["global_batch_size"] = 4
    raw["INFERENCE"].update(num_seg=NUM_SEG, target_size=SIZE)
    raw.update(epochs=1, log_interval=1, save_interval=1)
    return raw


@pytest.fixture(scope="module", params=[FIXTURE, TIMESFORMER_FIXTURE], ids=["tokshift", "timesformer"])
def tiny_paddlevideo(request, tmp_path_factory):
    """Videos (2 classes, patterns rolling right or left), lists as the config expects them (UCF101
    style without extensions for TokShift's ``suffix: .avi``, K400 style with them for TimeSformer),
    and a shrunk PaddleVideo config (its backend 'pyav' kept: PyAV when installed, else decord)."""
    root = tmp_path_factory.mktemp("paddlevideo_format")
    raw = shrink(load_fixture(request.param), root, "pyav")
    ext = "" if raw["DATASET"]["train"].get("suffix") == ".avi" else ".avi"
    lines = {"train": [], "val": []}
    for label, step in enumerate((3, -3)):
        (root / "videos" / f"c{label}").mkdir(parents=True)
        for i in range(4):
            write_video(root / "videos" / f"c{label}" / f"v{i}.avi", seed=10 * label + i, step=step)
            lines["train" if i < 2 else "val"].append(f"c{label}/v{i}{ext} {label}\n")
    for split, rows in lines.items():
        (root / f"{split}.txt").write_text("".join(rows))
    return {"root": root, "config": write_config(root / "paddlevideo.yaml", raw), "model_name": raw["model_name"],
            "video": root / "videos" / "c1" / "v3.avi", "out": root / "output"}


def run_tool(script: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="2", PYTHONWARNINGS="ignore", GLOG_minloglevel="2")
    return subprocess.run([sys.executable, str(ROOT / "tools" / script), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_paddlevideo_config_trains_tests_exports_and_predicts(tiny_paddlevideo):
    import main

    config, out = str(tiny_paddlevideo["config"]), tiny_paddlevideo["out"]
    assert main.main(["-c", config, "-o", f"output_dir={out}", "--validate", "--seed", "0"]) == 0
    log = (out / "train.log").read_text()
    assert "epoch [1/1]" in log and "validation: 4 of 4 videos scored" in log
    weights = out / f"{tiny_paddlevideo['model_name']}_best.pdparams"
    assert weights.is_file()

    assert main.main(["-c", config, "-o", f"output_dir={out}", "--test", "-w", str(weights)]) == 0
    with open(out / "test_predictions.csv") as handle:
        rows = {os.path.abspath(row["path"]): row for row in csv.DictReader(handle)}
    assert len(rows) == 4 and {row["views"] for row in rows.values()} == {"3"}  # Multi/UniformCrop

    export_dir = tiny_paddlevideo["root"] / "inference"
    proc = run_tool("export_model.py", "-c", config, "-p", str(weights), "-o", str(export_dir))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Input 'imgs': [None, 3, {3 * NUM_SEG}, {SIZE}, {SIZE}] float32" in proc.stdout
    model_file = export_dir / f"{tiny_paddlevideo['model_name']}.json"
    assert model_file.is_file()

    video = tiny_paddlevideo["video"]
    proc = run_tool("predict.py", "-c", config, "-i", str(video), "--model_file", str(model_file))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    top1 = re.search(r"top-1 class: \[(\d+)\].*?top-1 score: \[([0-9.e-]+)\]", proc.stdout, re.S)
    assert top1, proc.stdout
    expected = rows[os.path.abspath(video)]
    assert int(top1.group(1)) == int(expected["top1_class"])
    assert float(top1.group(2)) == pytest.approx(float(expected["top1_score"]), abs=1e-4)
