"""One reader of list files: the datasets, ``predict.py -i LIST`` and the prep tools see the same samples."""
import pytest

from paddlevideo.deploy.inputs import videos_in_list
from paddlevideo.errors import ConfigError
from paddlevideo.loader.dataset import VideoDataset
from paddlevideo.utils.dataset_lists import list_lines, read_video_list, split_fields

LIST = "# UCF101-style list\nApplyEyeMakeup/v_a.avi 0\n\n  air drumming/x y.mp4 1  \n#skipped.avi 3\n"
PIPELINE = {"decode": {"name": "VideoDecoder"}}


def test_blank_and_comment_lines_are_skipped_with_line_numbers_kept(tmp_path):
    path = tmp_path / "list.txt"
    path.write_text(LIST, encoding="utf-8")
    assert list_lines(str(path)) == [(2, "ApplyEyeMakeup/v_a.avi 0"), (4, "air drumming/x y.mp4 1")]


def test_split_fields_keeps_spaces_in_the_path():
    assert split_fields("air drumming/x y 300 7", 3) == ["air drumming/x y", "300", "7"]
    assert split_fields("only_a_path.avi", 2) is None


def test_dataset_predict_and_tools_read_the_same_samples(tmp_path):
    path = tmp_path / "list.txt"
    path.write_text(LIST, encoding="utf-8")
    expected = [("ApplyEyeMakeup/v_a.avi", 0), ("air drumming/x y.mp4", 1)]
    assert read_video_list(str(path)) == expected
    dataset = VideoDataset(str(path), PIPELINE, data_prefix=str(tmp_path))
    assert [(dataset.path(i), dataset.label(i)) for i in range(len(dataset))] == [
        (str(tmp_path / p), label) for p, label in expected]
    assert videos_in_list(str(path), str(tmp_path)) == [str(tmp_path / p) for p, _ in expected]


def test_a_line_without_label_is_named(tmp_path):
    path = tmp_path / "list.txt"
    path.write_text("a.avi 0\nb.avi\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"list.txt line 2: expected '<relative/path> <label>', got 'b.avi'"):
        read_video_list(str(path))
    with pytest.raises(ConfigError, match=r"line 2: 'b.avi': expected '<relative/path> <label>'"):
        VideoDataset(str(path), PIPELINE)


def test_missing_list_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="DATASET file_path: list file .*nope.txt' does not exist"):
        VideoDataset(str(tmp_path / "nope.txt"), PIPELINE)
    with pytest.raises(ConfigError, match="nope.txt' does not exist"):
        read_video_list(str(tmp_path / "nope.txt"))
