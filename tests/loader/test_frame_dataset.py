"""Raw frames: FrameDataset list parsing, FrameDecoder reading only the sampled files, failures,
parity with decoding the same clips as videos, the shipped ``*_frames.yaml`` configs, and main.py
training and testing on frames."""
import glob
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from main_helpers import shrink_args

import main
from paddlevideo.config import check_config
from paddlevideo.errors import ConfigError
from paddlevideo.loader.dataset import FrameDataset, VideoDataset
from paddlevideo.loader.errors import DecodeError
from paddlevideo.loader.pipelines import Compose, FrameDecoder
from paddlevideo.loader.pipelines.decode import open_video
from paddlevideo.loader.pipelines.decode_frames import RawFrameReader
from paddlevideo.registry import DATASETS, build

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "configs" / "recognition" / "tokshift"
FRAME_STEP = 10  # frame i of make_frames is flat grey 10*i, as in conftest.write_video
# JPEG settings of the frame extraction in these tests: quality 100 with full-resolution chroma,
# so that the parity test can tell JPEG loss from a wrong frame (see MAX_LEVELS).
JPEG_PARAMS = [cv2.IMWRITE_JPEG_QUALITY, 100,
               cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]

NORM = [{"Normalization": {"mean": [0.5] * 3, "std": [0.5] * 3}},
        {"Image2Array": {"data_format": "cthw"}}]
PIPELINE = {"decode": {"name": "FrameDecoder"},
            "sample": {"name": "Sampler", "num_seg": 4, "valid_mode": True},
            "transform": [{"CenterCrop": {"target_size": 32}}] + NORM}


def write_list(tmp_path, lines, name="list.txt"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def write_frames(frame_dir: Path, frames_rgb, template="img_{:05}.jpg") -> int:
    """Write uint8 RGB frames [T, H, W, 3] (or grey [T, H, W]) as 1-based files; returns T."""
    frame_dir.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames_rgb):
        bgr = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        name = template.format(i + 1)
        assert cv2.imwrite(str(frame_dir / name), bgr, JPEG_PARAMS if name.endswith(".jpg") else [])
    return len(frames_rgb)


def make_frames(frame_dir: Path, num_frames=20, height=32, width=40, template="img_{:05}.jpg"):
    """A frame folder whose frame i is flat grey 10*i (recoverable with the frame_ids fixture)."""
    frames = [np.full((height, width, 3), FRAME_STEP * i, np.uint8) for i in range(num_frames)]
    write_frames(frame_dir, frames, template)
    return frame_dir


def extract_frames(video: Path, frame_dir: Path) -> int:
    """Decode every frame of ``video`` (as VideoDecoder's reader does) and write it as a JPEG."""
    reader = open_video(str(video))
    return write_frames(frame_dir, reader.read(np.arange(len(reader))))


def record_reads(monkeypatch):
    """Names of the files cv2.imread is asked for, in call order."""
    names, imread = [], cv2.imread

    def counting_imread(path, *args):
        names.append(os.path.basename(path))
        return imread(path, *args)

    monkeypatch.setattr(cv2, "imread", counting_imread)
    return names


def frame_dataset(tmp_path, lines, pipeline=None, **kwargs):
    kwargs.setdefault("data_prefix", str(tmp_path))
    return FrameDataset(file_path=write_list(tmp_path, lines), pipeline=pipeline or PIPELINE, **kwargs)


def decode(frame_dir, frames_len, suffix="img_{:05}.jpg"):
    """Run FrameDecoder on a results dict as FrameDataset starts it."""
    results = {"filename": str(frame_dir), "frame_dir": str(frame_dir), "frames_len": frames_len,
               "suffix": suffix, "label": 0}
    return FrameDecoder()(results)


# ------------------------------------------------------------------------------------ list file


def test_list_parsing_prefix_spaces_and_starting_results(tmp_path):
    ds = frame_dataset(tmp_path, ["a 20 3", "", "   ", "with space/clip 01\t7 1"], num_classes=8)
    assert ds.samples == [
        {"filename": str(tmp_path / "a"), "frame_dir": str(tmp_path / "a"), "frames_len": 20,
         "suffix": "img_{:05}.jpg", "label": 3},
        {"filename": str(tmp_path / "with space/clip 01"), "frame_dir": str(tmp_path / "with space/clip 01"),
         "frames_len": 7, "suffix": "img_{:05}.jpg", "label": 1}]
    assert ds.path(1) == str(tmp_path / "with space/clip 01") and ds.label(0) == 3


def test_suffix_is_the_frame_template_not_appended_to_the_folder(tmp_path, frame_ids):
    make_frames(tmp_path / "clip", num_frames=8, template="frame{:04d}.jpg")
    ds = frame_dataset(tmp_path, ["clip 8 0"], suffix="frame{:04d}.jpg")
    assert ds.samples[0]["frame_dir"] == str(tmp_path / "clip")
    assert (tmp_path / "clip" / "frame0001.jpg").is_file()
    results = Compose({"decode": {"name": "FrameDecoder"},
                       "sample": {"name": "Sampler", "num_seg": 4, "valid_mode": True}})(dict(ds.samples[0]))
    assert frame_ids(results["imgs"]).tolist() == [0, 2, 4, 6]


@pytest.mark.parametrize("suffix", ["img.jpg", "img_{name}.jpg", "img_{1}.jpg"])
def test_suffix_that_is_not_a_frame_template_is_rejected(tmp_path, suffix):
    with pytest.raises(ValueError, match="suffix must be a frame file name template"):
        frame_dataset(tmp_path, ["a 8 0"], suffix=suffix)
    with pytest.raises(ConfigError, match="FrameDataset.*suffix"):
        build({"format": "FrameDataset", "file_path": write_list(tmp_path, ["a 8 0"]), "suffix": suffix},
              DATASETS, key="format", pipeline=PIPELINE)


def test_video_decoder_in_the_pipeline_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="decode them with FrameDecoder, not VideoDecoder"):
        frame_dataset(tmp_path, ["a 8 0"], pipeline=dict(PIPELINE, decode={"name": "VideoDecoder"}))


@pytest.mark.parametrize("bad_line,message", [
    ("lonely_dir", "expected '<frame_dir> <num_frames> <label>'"),
    ("dir 8", "expected '<frame_dir> <num_frames> <label>'"),
    ("dir eight 1", "frame count 'eight' is not an integer"),
    ("dir -1 1", "frame count -1 is negative"),
    ("dir 8 one", "label 'one' is not an integer"),
    ("dir 8 5", r"label 5 is outside \[0, 5\)"),
])
def test_bad_line_is_a_config_error_naming_file_and_line(tmp_path, bad_line, message):
    with pytest.raises(ConfigError, match=rf"list\.txt', line 3\D.*{message}") as info:
        frame_dataset(tmp_path, ["a 8 0", "", bad_line], num_classes=5)
    assert bad_line in str(info.value)


def test_built_from_the_registry_and_config_keys_checked(tmp_path):
    ds = build({"format": "FrameDataset", "file_path": write_list(tmp_path, ["a 8 0"]),
                "data_prefix": str(tmp_path)}, DATASETS, key="format", pipeline=PIPELINE,
               num_classes=5, test_mode=False)
    assert isinstance(ds, FrameDataset) and ds.samples[0]["frames_len"] == 8
    cfg = yaml.safe_load(open(CONFIG_DIR / "demo_tokshift_tiny_frames.yaml"))
    cfg["DATASET"]["train"]["sufix"] = "{:05}.jpg"
    with pytest.raises(ConfigError, match="DATASET.train.*'sufix'.*suffix"):
        check_config(cfg)


# --------------------------------------------------------------------------------- FrameDecoder


def test_reads_only_the_sampled_frame_files(tmp_path, monkeypatch):
    make_frames(tmp_path / "clip", num_frames=20)
    read = record_reads(monkeypatch)
    imgs = frame_dataset(tmp_path, ["clip 20 0"], read_timeout=0)[0].imgs  # read here, where it is recorded
    assert imgs.shape == (3, 4, 32, 32) and imgs.dtype == np.float32
    assert read == ["img_00003.jpg", "img_00008.jpg", "img_00013.jpg", "img_00018.jpg"]
    expected = (FRAME_STEP * np.array([2, 7, 12, 17]) / 255 - 0.5) / 0.5
    np.testing.assert_allclose(imgs.mean(axis=(0, 2, 3)), expected, atol=0.02)


def test_repeated_indices_read_each_file_once_in_the_requested_order(tmp_path, frame_ids, monkeypatch):
    make_frames(tmp_path / "clip", num_frames=6)
    read = record_reads(monkeypatch)
    frames = decode(tmp_path / "clip", 6)["reader"].read(np.array([4, 1, 4, 0, 1]))
    assert frames.dtype == np.uint8 and frames.shape == (5, 32, 40, 3)
    assert frame_ids(frames).tolist() == [4, 1, 4, 0, 1]
    assert read == ["img_00001.jpg", "img_00002.jpg", "img_00005.jpg"]


def test_decoder_sets_reader_and_list_frame_count(tmp_path):
    make_frames(tmp_path / "clip", num_frames=5)
    results = decode(tmp_path / "clip", np.int64(5))
    assert isinstance(results["reader"], RawFrameReader) and len(results["reader"]) == 5
    assert results["frames_len"] == 5 and type(results["frames_len"]) is int


def test_frames_are_rgb(tmp_path):
    red = np.zeros((2, 16, 16, 3), np.uint8)
    red[..., 0] = 255
    write_frames(tmp_path / "red", red)
    frames = decode(tmp_path / "red", 2)["reader"].read(np.array([0, 1]))
    assert frames[..., 0].min() > 240 and frames[..., 1:].max() < 15


def test_grayscale_jpegs_become_three_equal_channels(tmp_path):
    grey = np.tile(np.linspace(0, 255, 24, dtype=np.uint8), (3, 16, 1))  # [T, H, W]
    write_frames(tmp_path / "grey", grey)
    assert cv2.imread(str(tmp_path / "grey" / "img_00001.jpg"), cv2.IMREAD_UNCHANGED).ndim == 2
    frames = decode(tmp_path / "grey", 3)["reader"].read(np.array([0, 2]))
    assert frames.shape == (2, 16, 24, 3)
    np.testing.assert_array_equal(frames[..., 0], frames[..., 1])
    np.testing.assert_array_equal(frames[..., 0], frames[..., 2])
    assert np.abs(frames[..., 0].astype(int) - grey[[0, 2]]).max() <= 3


def test_missing_folder_is_a_decode_error(tmp_path):
    with pytest.raises(DecodeError, match="nowhere.*frame folder does not exist"):
        decode(tmp_path / "nowhere", 8)


def test_zero_listed_frames_is_a_decode_error(tmp_path):
    make_frames(tmp_path / "clip", num_frames=3)
    with pytest.raises(DecodeError, match="the list gives 0 frames"):
        decode(tmp_path / "clip", 0)


@pytest.mark.parametrize("damage,problem", [("delete", "does not exist"), ("garble", "is unreadable")])
def test_missing_or_unreadable_frame_names_frame_and_file(tmp_path, damage, problem):
    make_frames(tmp_path / "clip", num_frames=8)
    victim = tmp_path / "clip" / "img_00006.jpg"
    if damage == "delete":
        victim.unlink()
    else:
        victim.write_bytes(b"not a jpeg")
    reader = decode(tmp_path / "clip", 8)["reader"]
    with pytest.raises(DecodeError, match=rf"frame 5 \(file '.*img_00006\.jpg'\) {problem}") as info:
        reader.read(np.array([1, 5, 7]))
    assert info.value.path == str(tmp_path / "clip")


def test_frames_of_different_sizes_are_a_decode_error(tmp_path):
    make_frames(tmp_path / "clip", num_frames=3)
    make_frames(tmp_path / "other", num_frames=3, width=24)
    os.replace(tmp_path / "other" / "img_00002.jpg", tmp_path / "clip" / "img_00002.jpg")
    with pytest.raises(DecodeError, match="different sizes"):
        decode(tmp_path / "clip", 3)["reader"].read(np.array([0, 1, 2]))


def test_list_count_above_the_files_falls_back_to_the_frames_present(tmp_path, frame_ids):
    make_frames(tmp_path / "clip", num_frames=20)
    ds = frame_dataset(tmp_path, ["clip 40 0"], pipeline={
        "decode": {"name": "FrameDecoder"}, "sample": {"name": "Sampler", "num_seg": 4, "valid_mode": True}})
    results = ds.pipeline(dict(ds.samples[0]))
    assert results["decodable_len"] == 20
    assert frame_ids(results["imgs"]).tolist() == [2, 7, 12, 17]


# ------------------------------------------------------------------------- failures in the dataset


def broken_and_good(tmp_path):
    """A list whose sample 0 is a missing folder, 1 lacks its first frame, 2 is fine."""
    make_frames(tmp_path / "no_first", num_frames=8)
    (tmp_path / "no_first" / "img_00001.jpg").unlink()
    make_frames(tmp_path / "good", num_frames=8)
    return ["missing 8 0", "no_first 8 1", "good 8 2"]


def test_train_mode_replaces_missing_folder_and_missing_frame(tmp_path, monkeypatch):
    ds = frame_dataset(tmp_path, broken_and_good(tmp_path), num_classes=3)
    # _other_index draws 1 among the other samples' positions: sample 2 replaces samples 0 and 1.
    monkeypatch.setattr(np.random, "randint", lambda low, high: 1)
    for idx, reason in ((0, "frame folder does not exist"), (1, "img_00001.jpg') does not exist")):
        sample = ds[idx]
        assert sample.imgs.shape == (3, 4, 32, 32) and (sample.index, sample.label) == (2, 2)
        assert len(sample.failures) == 1 and sample.failures[0][0] == idx and reason in sample.failures[0][1]


def test_test_mode_returns_missing_folder_and_frame_as_failed(tmp_path):
    ds = frame_dataset(tmp_path, broken_and_good(tmp_path), num_classes=3, test_mode=True)
    for idx in (0, 1):
        sample = ds[idx]
        assert sample.imgs is None and (sample.index, sample.label) == (idx, idx)
        assert [i for i, _ in sample.failures] == [idx]
    assert ds[2].imgs.shape == (3, 4, 32, 32) and ds[2].failures == ()


# ------------------------------------------------------------------ parity with decoding videos


@pytest.fixture(scope="module")
def demo_frames(demo_data, tmp_path_factory):
    """The demo videos extracted to ``rawframes/<class>/<clip>/img_00001.jpg ...`` with
    ``train_frames.list`` / ``val_frames.list`` in PaddleVideo's raw-frame format."""
    out = tmp_path_factory.mktemp("demo_frames")
    for split in ("train", "val"):
        lines = []
        for line in (Path(demo_data) / f"{split}.list").read_text().splitlines():
            relative, label = line.rsplit(None, 1)
            frame_dir = os.path.splitext(relative)[0]
            count = extract_frames(Path(demo_data) / "videos" / relative, out / "rawframes" / frame_dir)
            lines.append(f"{frame_dir} {count} {label}")
        write_list(out, lines, f"{split}_frames.list")
    return out


PARITY_PIPELINES = {
    "tsn_valid": {"sample": {"name": "Sampler", "num_seg": 4, "valid_mode": True},
                  "transform": [{"Scale": {"short_size": 32}}, {"CenterCrop": {"target_size": 32}}] + NORM},
    "dense_two_clips_three_crops": {
        "sample": {"name": "Sampler", "num_seg": 4, "valid_mode": True, "dense_sample": True,
                   "dense_stride": 2, "num_clips": 2},
        "transform": [{"Scale": {"short_size": 36}}, {"ThreeCrop": {"target_size": 32}}] + NORM},
    "train_seeded": {"sample": {"name": "Sampler", "num_seg": 4},
                     "transform": [{"JitterScale": {"min_size": 32, "max_size": 40}},
                                   {"RandomCrop": {"target_size": 32}}, {"RandomFlip": {"p": 0.5}}] + NORM},
}
# Differences allowed between a frame-folder clip and the same video's clip, in grey levels of the
# uint8 frames (Normalization maps one level to 2/255). Measured with JPEG_PARAMS: max 4, mean 0.41
# (quality 95 4:4:4: max 15, mean 1.41; quality 95 with OpenCV's default 4:2:0 chroma: max 69,
# mean 3.1, from re-subsampling the demo's saturated object edges). Reading a neighbouring frame
# instead would differ by 6-20 levels on average.
MAX_LEVELS, MEAN_LEVELS = 8, 1.0


@pytest.mark.parametrize("name", sorted(PARITY_PIPELINES))
def test_frames_and_videos_give_the_same_clips(demo_data, demo_frames, name):
    """The demo clips as videos (VideoDecoder) and as frames extracted from them (FrameDecoder)
    give the same clips, frame for frame and crop for crop, up to JPEG loss (MAX_LEVELS, MEAN_LEVELS).
    """
    spec = PARITY_PIPELINES[name]
    video_ds = VideoDataset(file_path=str(Path(demo_data) / "val.list"),
                            data_prefix=str(Path(demo_data) / "videos"),
                            pipeline={"decode": {"name": "VideoDecoder"}, **spec})
    frame_ds = FrameDataset(file_path=str(demo_frames / "val_frames.list"),
                            data_prefix=str(demo_frames / "rawframes"),
                            pipeline={"decode": {"name": "FrameDecoder"}, **spec})
    assert len(video_ds) == len(frame_ds) == 8
    diffs = []
    for idx in range(len(video_ds)):
        np.random.seed(idx)
        video = video_ds[idx]
        np.random.seed(idx)
        frames = frame_ds[idx]
        assert video.failures == frames.failures == () and video.label == frames.label
        assert video.imgs.shape == frames.imgs.shape
        diffs.append(np.abs(video.imgs - frames.imgs) * 255 / 2)  # in grey levels
    diffs = np.concatenate([d.ravel() for d in diffs])
    assert diffs.max() <= MAX_LEVELS and diffs.mean() <= MEAN_LEVELS, (diffs.max(), diffs.mean())


# ------------------------------------------------------------------------------- shipped configs


def comparable(cfg):
    """A config without its DATASET entries, decode ops and model name (the frames twin's ends in
    ``_frames`` so that the two runs do not overwrite each other's checkpoints): what they share."""
    cfg = dict(cfg, DATASET={k: v for k, v in cfg["DATASET"].items() if k not in ("train", "valid", "test")})
    cfg["model_name"] = cfg["model_name"].removesuffix("_frames")
    cfg["PIPELINE"] = {mode: {k: v for k, v in p.items() if k != "decode"} for mode, p in cfg["PIPELINE"].items()}
    return cfg


VIDEO_CONFIGS = sorted(p for d in ("tokshift", "timesformer")
                       for p in glob.glob(str(CONFIG_DIR.parent / d / "*.yaml")) if not p.endswith("_frames.yaml"))


@pytest.mark.parametrize("video_path", VIDEO_CONFIGS, ids=os.path.basename)
def test_every_video_config_has_a_frames_twin_in_sync(video_path):
    frames_path = video_path[:-len(".yaml")] + "_frames.yaml"
    assert os.path.isfile(frames_path), f"no raw-frames twin {os.path.basename(frames_path)}"
    video, frames = (yaml.safe_load(open(p)) for p in (video_path, frames_path))
    assert comparable(frames) == comparable(video), "re-sync the frames config with its video config"
    for mode, entry in frames["DATASET"].items():
        if mode in ("train", "valid", "test"):
            assert entry["format"] == "FrameDataset" and "rawframes" in entry["data_prefix"]
            assert "frames" in os.path.basename(entry["file_path"])
    assert {p["decode"]["name"] for p in frames["PIPELINE"].values()} == {"FrameDecoder"}


# ------------------------------------------------------------------------------------ end to end


def tiny_frames_args(frames_root, out, extra=()):
    """Overrides shrinking demo_tokshift_tiny_frames.yaml to a 32 px, 4-frame, depth-1 model."""
    return shrink_args(CONFIG_DIR / "demo_tokshift_tiny_frames.yaml", out, data_prefix=f"{frames_root}/rawframes",
                       train_list=f"{frames_root}/train_frames.list", val_list=f"{frames_root}/val_frames.list",
                       epochs=1, embed_dim=32, depth=1, num_heads=2, num_workers=0, eval_batch_size=4,
                       log_interval=1, extra=extra)


def test_main_trains_and_tests_on_frames(demo_frames, tmp_path):
    out = tmp_path / "run"
    assert main.main(tiny_frames_args(demo_frames, out) + ["--seed", "0", "--validate"]) == 0
    weights = out / "demo_tokshift_tiny_frames_epoch_00001.pdparams"
    assert weights.is_file()
    log = (out / "train.log").read_text()
    assert "epoch [1/1] batch 4/4" in log and "validation: 8 of 8 videos scored" in log
    assert main.main(tiny_frames_args(demo_frames, out) + ["--test", "-w", str(weights)]) == 0
    results = json.load(open(out / "test_results.json"))
    assert (results["videos"], results["scored"], results["failed"]) == (8, 8, 0)
    assert 0.0 <= results["top1"] <= 1.0
