"""``-i`` resolution: one video, a directory tree, or a list file."""
import pytest

from paddlevideo.deploy.inputs import collect_videos
from paddlevideo.errors import ConfigError


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_single_file_and_directory(tmp_path):
    a = touch(tmp_path / "v" / "b.avi")
    b = touch(tmp_path / "v" / "a.MP4")
    c = touch(tmp_path / "v" / "sub" / "c.mkv")
    touch(tmp_path / "v" / "notes.txt")
    assert collect_videos(str(a)) == [str(a)]
    assert collect_videos(str(tmp_path / "v")) == [str(b), str(a), str(c)]


def test_list_file_with_labels_comments_and_prefix(tmp_path):
    list_file = tmp_path / "lists" / "test.list"
    list_file.parent.mkdir()
    list_file.write_text("# comment\nA/x.avi 3\n\nB/my clip.avi\n/abs/z.avi 12\n", encoding="utf-8")
    root = str(list_file.parent)
    assert collect_videos(str(list_file)) == [f"{root}/A/x.avi", f"{root}/B/my clip.avi", "/abs/z.avi"]
    assert collect_videos(str(list_file), "/data")[:2] == ["/data/A/x.avi", "/data/B/my clip.avi"]


def test_missing_input_and_empty_directory(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        collect_videos(str(tmp_path / "missing.avi"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no videos found"):
        collect_videos(str(tmp_path / "empty"))
