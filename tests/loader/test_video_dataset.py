"""VideoDataset: list-file parsing and its error messages, sample output, and the handling of
unreadable videos (substituted in train, returned as failed in valid/test, reported with the batch)."""

import numpy as np
import paddle
import pytest

from paddlevideo.errors import ConfigError
from paddlevideo.loader.dataset import VideoDataset
from paddlevideo.loader.pipelines import Compose
from paddlevideo.registry import DATASETS, build

PIPELINE = {
    "decode": {"name": "VideoDecoder"},
    "sample": {"name": "Sampler", "num_seg": 4, "valid_mode": True},
    "transform": [{"CenterCrop": {"target_size": 32}},
                  {"Normalization": {"mean": [0.5] * 3, "std": [0.5] * 3}},
                  {"Image2Array": {"data_format": "cthw"}}],
}


def write_list(tmp_path, lines, name="list.txt"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def make_dataset(tmp_path, lines, **kwargs):
    kwargs.setdefault("data_prefix", str(tmp_path))
    return VideoDataset(file_path=write_list(tmp_path, lines), pipeline=PIPELINE, **kwargs)


def test_list_parsing_prefix_suffix_blank_lines_and_spaces(tmp_path, make_video):
    make_video("a.avi")
    make_video("with space.avi")
    ds = make_dataset(tmp_path, ["a 3", "", "   ", "with space\t7"], suffix=".avi", num_classes=8)
    assert len(ds) == 2
    assert [(ds.path(i), ds.label(i)) for i in range(2)] == [(str(tmp_path / "a.avi"), 3),
                                                               (str(tmp_path / "with space.avi"), 7)]


def test_getitem_returns_float32_clip_and_int64_label(tmp_path, make_video, frame_ids):
    make_video("a.avi", num_frames=20)
    imgs, label, index, failures, short = make_dataset(tmp_path, ["a.avi 5"])[0]
    assert imgs.dtype == np.float32 and imgs.shape == (3, 4, 32, 32)
    assert (label, index, failures, short) == (5, 0, (), None)
    expected = (10 * np.array([2, 7, 12, 17]) / 255 - 0.5) / 0.5
    np.testing.assert_allclose(imgs.mean(axis=(0, 2, 3)), expected, atol=0.04)


def test_built_from_registry(tmp_path, make_video):
    make_video("a.avi")
    ds = build({"name": "VideoDataset", "file_path": write_list(tmp_path, ["a.avi 0"]),
                "data_prefix": str(tmp_path)}, DATASETS, pipeline=PIPELINE)
    assert isinstance(ds, VideoDataset) and isinstance(ds, paddle.io.Dataset)


def test_accepts_an_already_built_compose(tmp_path, make_video):
    make_video("a.avi")
    pipeline = Compose(PIPELINE)
    ds = VideoDataset(file_path=write_list(tmp_path, ["a.avi 0"]), pipeline=pipeline,
                      data_prefix=str(tmp_path))
    assert ds.pipeline is pipeline and ds[0][0].shape == (3, 4, 32, 32)


def test_missing_list_file_names_the_config_key(tmp_path):
    missing = str(tmp_path / "nope.txt")
    with pytest.raises(ConfigError, match=rf"file_path.*{missing}"):
        VideoDataset(file_path=missing, pipeline=PIPELINE)


@pytest.mark.parametrize("bad_line,message", [
    ("lonely_path.avi", "expected"),
    ("b.avi seven", "not an integer"),
    ("b.avi -1", "outside"),
])
def test_bad_line_reports_file_line_number_and_text(tmp_path, bad_line, message):
    with pytest.raises(ConfigError, match=rf"list\.txt', line 3: .*{message}") as info:
        make_dataset(tmp_path, ["a.avi 0", "", bad_line])
    assert bad_line in str(info.value)


def test_label_outside_num_classes(tmp_path):
    with pytest.raises(ConfigError, match=r"line 2: 'b.avi 10': label 10 is outside \[0, 10\)"):
        make_dataset(tmp_path, ["a.avi 9", "b.avi 10"], num_classes=10)


def test_empty_list_file(tmp_path):
    with pytest.raises(ConfigError, match="no samples"):
        make_dataset(tmp_path, ["", "  "])


def test_bad_pipeline_config_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="Smapler"):
        VideoDataset(file_path=write_list(tmp_path, ["a.avi 0"]),
                     pipeline={"sample": {"name": "Smapler", "num_seg": 8}})


def test_train_mode_replaces_a_broken_video_and_reports_it(tmp_path, make_video, make_broken_video):
    make_broken_video("broken.avi")
    make_video("good.avi")
    ds = make_dataset(tmp_path, ["broken.avi 0", "good.avi 1"])
    sample = ds[0]
    assert sample.label == 1 and sample.index == 1 and sample.imgs.shape == (3, 4, 32, 32)
    assert len(sample.failures) == 1 and sample.failures[0][0] == 0 and sample.failures[0][1]


def test_train_mode_gives_up_after_num_retries_with_every_failure(tmp_path, make_broken_video):
    """After ``num_retries`` failed replacements the sample comes back failed, carrying every failure
    (the main process counts them against max_failure_ratio); nothing is raised inside a worker."""
    for name in ("x.avi", "y.avi", "z.avi"):
        make_broken_video(name)
    ds = make_dataset(tmp_path, ["x.avi 0", "y.avi 1", "z.avi 2"], num_retries=3)
    sample = ds[1]
    assert sample.imgs is None and sample.index == 1 and len(sample.failures) == 4
    assert sample.failures[0][0] == 1 and all(reason for _, reason in sample.failures)


def test_test_mode_returns_the_failure_instead_of_a_clip(tmp_path, make_video, make_broken_video):
    make_broken_video("broken.avi")
    make_video("good.avi")
    ds = make_dataset(tmp_path, ["broken.avi 0", "good.avi 1"], test_mode=True)
    sample = ds[0]
    assert sample.imgs is None and sample.index == 0 and sample.failures[0][0] == 0
    assert ds[1].imgs is not None and ds[1].failures == ()


@pytest.mark.parametrize("num_workers", [0, 2])
@pytest.mark.parametrize("test_mode", [False, True])
def test_failures_reach_the_main_process_with_every_batch(tmp_path, make_video, make_broken_video,
                                                          num_workers, test_mode):
    """Workers decode; the batch carries the dataset index of every row and every failure."""
    from paddlevideo.loader.batch import split_batch
    from paddlevideo.loader.builder import build_dataloader

    make_broken_video("broken.avi")
    for i in range(3):
        make_video(f"good{i}.avi")
    lines = ["broken.avi 0", "good0.avi 1", "broken.avi 0", "good1.avi 1", "good2.avi 1", "good0.avi 1"]
    ds = make_dataset(tmp_path, lines, test_mode=test_mode)
    loader = build_dataloader(ds, paddle.io.BatchSampler(ds, batch_size=2), num_workers)
    rows, failed = [], set()
    for batch in loader:
        inputs, meta = split_batch(batch)
        failed |= {index for index, _ in meta.failures}
        if meta.indices:
            assert inputs[0].shape[0] == len(meta.indices)
            assert inputs[1].numpy().tolist() == [1] * len(meta.indices)
        rows += meta.indices
    assert {0, 2} <= failed
    if test_mode:
        assert rows == [1, 3, 4, 5] and failed == {0, 2}  # failed rows are left out, never replaced
    else:
        assert len(rows) == 6 and not {0, 2} & set(rows)
