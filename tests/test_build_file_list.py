"""List-file preparation from the shipped UCF101 splits and from class folders."""
import os

import pytest

from tools.build_file_list import main, read_label_names

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_ucf101_split_1(tmp_path):
    assert main(["ucf101", "--annotations", os.path.join(ROOT, "data/ucf101/annotations"),
                 "--split", "1", "--out", str(tmp_path)]) == 0
    train = (tmp_path / "ucf101_train_split_1_videos.txt").read_text().splitlines()
    val = (tmp_path / "ucf101_val_split_1_videos.txt").read_text().splitlines()
    assert (len(train), len(val)) == (9537, 3783)
    assert train[0] == "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 0"
    labels = {int(line.split()[1]) for line in train}
    assert labels == set(range(101))
    assert any(line.startswith("BrushingTeeth/") and line.endswith(" 19") for line in val)


def test_label_lists_both_formats(tmp_path):
    k400 = read_label_names(os.path.join(ROOT, "data/k400/kinetics400_label_list.txt"))
    assert len(k400) == 400 and k400["abseiling"] == 0
    bare = tmp_path / "names.txt"
    bare.write_text("walk\nrun fast\n")
    assert read_label_names(str(bare)) == {"walk": 0, "run fast": 1}


def test_folders(tmp_path):
    for cls in ("abseiling", "air_drumming"):
        (tmp_path / "videos" / cls).mkdir(parents=True)
        (tmp_path / "videos" / cls / "a.mp4").write_bytes(b"")
        (tmp_path / "videos" / cls / "notes.txt").write_bytes(b"")
    out = tmp_path / "train.list"
    main(["folders", "--root", str(tmp_path / "videos"), "--labels",
          os.path.join(ROOT, "data/k400/kinetics400_label_list.txt"), "--out", str(out)])
    assert out.read_text().splitlines() == ["abseiling/a.mp4 0", "air_drumming/a.mp4 1"]
    (tmp_path / "videos" / "not_a_class").mkdir()
    with pytest.raises(SystemExit, match="not_a_class"):
        main(["folders", "--root", str(tmp_path / "videos"), "--labels",
              os.path.join(ROOT, "data/k400/kinetics400_label_list.txt"), "--out", str(out)])
