"""Label files: the three layouts are told apart from the whole file."""
from pathlib import Path

import pytest

from paddlevideo.deploy.labels import NAME_PER_LINE, ONE_BASED, ZERO_BASED, load_labels, parse_labels
from paddlevideo.errors import ConfigError

SHARED = Path("/work/shared/videos")


def test_ucf101_classind_is_one_based():
    labels = parse_labels("1 ApplyEyeMakeup\n2 ApplyLipstick\n3 Archery\n")
    assert labels.layout == ONE_BASED
    assert labels.names == ["ApplyEyeMakeup", "ApplyLipstick", "Archery"]
    assert labels.name(0) == "ApplyEyeMakeup" and labels.name(3) is None and labels.name(-1) is None


def test_indexed_zero_based_any_order_and_comma_with_header():
    labels = parse_labels("1 air drumming\n0 abseiling\n\n2 answering questions\n")
    assert labels.layout == ZERO_BASED
    assert labels.names == ["abseiling", "air drumming", "answering questions"]
    csv = parse_labels("id,name\n0,abseiling\n1,air drumming\n")
    assert csv.layout == ZERO_BASED and csv.names == ["abseiling", "air drumming"]


def test_one_name_per_line():
    labels = parse_labels("abseiling\nair drumming\n3d printing\n")
    assert labels.layout == NAME_PER_LINE
    assert labels.names == ["abseiling", "air drumming", "3d printing"]


@pytest.mark.parametrize("text", ["", "\n \n", "0 a\n2 b\n", "1 a\n1 b\n", "5 a\n6 b\n"])
def test_bad_label_files_are_rejected(text):
    with pytest.raises(ConfigError):
        parse_labels(text, "labels.txt")


def test_load_labels_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_labels(str(tmp_path / "nope.txt"))


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared label files not available")
def test_shared_label_files():
    ucf = load_labels(str(SHARED / "ucf101" / "annotations" / "classInd.txt"))
    assert ucf.layout == ONE_BASED and len(ucf) == 101 and ucf.name(0) == "ApplyEyeMakeup"
    k400 = load_labels(str(SHARED / "kinetics" / "kinetics400_label_list.txt"))
    assert len(k400) == 400 and k400.name(0) == "abseiling"
