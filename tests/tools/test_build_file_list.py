"""List files from the shipped UCF101 splits (videos and raw frames) and from Kinetics-style class folders."""
import os
import shutil

import pytest

from paddlevideo.utils.dataset_lists import read_video_list
from tools.build_file_list import main, read_label_names

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANNOTATIONS = os.path.join(ROOT, "data", "ucf101", "annotations")
K400_LABELS = os.path.join(ROOT, "data", "k400", "kinetics400_label_list.txt")
SPLIT_SIZES = {1: (9537, 3783), 2: (9586, 3734), 3: (9624, 3696)}


def lines(path) -> list:
    return path.read_text(encoding="utf-8").splitlines()


def make_frames(frames_root, video: str, num: int) -> None:
    """A fake frame folder for ``video`` (class/v_name.avi) holding ``num`` empty frame files."""
    folder = frames_root / os.path.splitext(video)[0]
    folder.mkdir(parents=True)
    for i in range(1, num + 1):
        (folder / f"img_{i:05d}.jpg").write_bytes(b"")


def test_ucf101_video_lists_all_splits(tmp_path):
    assert main(["ucf101", "--annotations", ANNOTATIONS, "--split", "all", "--out", str(tmp_path)]) == 0
    for split, sizes in SPLIT_SIZES.items():
        train = lines(tmp_path / f"ucf101_train_split_{split}_videos.txt")
        val = lines(tmp_path / f"ucf101_val_split_{split}_videos.txt")
        assert (len(train), len(val)) == sizes
        assert not {t.split()[0] for t in train} & {v.split()[0] for v in val}
        assert {int(t.split()[1]) for t in train} == set(range(101))
    train = lines(tmp_path / "ucf101_train_split_1_videos.txt")
    assert train[0] == "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 0"
    assert "BrushingTeeth/v_BrushingTeeth_g01_c01.avi 19" in lines(tmp_path / "ucf101_val_split_1_videos.txt")
    assert not list(tmp_path.glob("*rawframes*"))


def test_ucf101_missing_frames_reported_all_at_once(tmp_path):
    make_frames(tmp_path / "frames", "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi", 5)
    with pytest.raises(SystemExit) as err:
        main(["ucf101", "--annotations", ANNOTATIONS, "--split", "all", "--out", str(tmp_path / "lists"),
              "--frames_root", str(tmp_path / "frames")])
    message = str(err.value)
    assert "13319 of 13320 videos have no usable frames" in message
    assert "v_ApplyEyeMakeup_g01_c01: no frames" in message and "--skip_missing" in message
    assert not (tmp_path / "lists").exists()  # nothing written on error


def test_ucf101_rawframes_skip_missing(tmp_path, capsys):
    frames = tmp_path / "frames"
    make_frames(frames, "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi", 3)  # test group of split 1
    make_frames(frames, "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi", 5)  # test group of split 2
    make_frames(frames, "BrushingTeeth/v_BrushingTeeth_g01_c01.avi", 2)
    main(["ucf101", "--annotations", ANNOTATIONS, "--split", "all", "--out", str(tmp_path),
          "--frames_root", str(frames), "--skip_missing"])
    assert "warning: 13317 of 13320 videos have no usable frames" in capsys.readouterr().err
    g01, g08 = "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01 3 0", "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01 5 0"
    teeth = "BrushingTeeth/v_BrushingTeeth_g01_c01 2 19"
    assert lines(tmp_path / "ucf101_train_split_1_rawframes.txt") == [g08]
    assert lines(tmp_path / "ucf101_val_split_1_rawframes.txt") == [g01, teeth]
    assert lines(tmp_path / "ucf101_train_split_2_rawframes.txt") == [g01, teeth]
    assert lines(tmp_path / "ucf101_val_split_2_rawframes.txt") == [g08]
    assert lines(tmp_path / "ucf101_train_split_3_rawframes.txt") == [g01, g08, teeth]
    assert lines(tmp_path / "ucf101_val_split_3_rawframes.txt") == []
    assert len(lines(tmp_path / "ucf101_train_split_3_videos.txt")) == 9624  # video lists stay complete


def small_annotations(tmp_path):
    """classInd + the first two videos of trainlist01 and testlist01."""
    ann = tmp_path / "annotations"
    ann.mkdir()
    shutil.copy(os.path.join(ANNOTATIONS, "classInd.txt"), ann)
    for name in ("trainlist01.txt", "testlist01.txt"):
        with open(os.path.join(ANNOTATIONS, name), encoding="utf-8") as f:
            (ann / name).write_text("".join(f.readlines()[:2]))
    return ann


def test_ucf101_rawframes_counts_and_gaps(tmp_path):
    ann, frames = small_annotations(tmp_path), tmp_path / "frames"
    for i, video in enumerate(["v_ApplyEyeMakeup_g08_c01", "v_ApplyEyeMakeup_g08_c02",
                               "v_ApplyEyeMakeup_g01_c01", "v_ApplyEyeMakeup_g01_c02"]):
        make_frames(frames, f"ApplyEyeMakeup/{video}.avi", 10 + i)
    args = ["ucf101", "--annotations", str(ann), "--split", "1", "--out", str(tmp_path),
            "--frames_root", str(frames)]
    assert main(args) == 0
    assert lines(tmp_path / "ucf101_train_split_1_rawframes.txt") == [
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01 10 0", "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c02 11 0"]
    assert lines(tmp_path / "ucf101_val_split_1_rawframes.txt") == [
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01 12 0", "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c02 13 0"]
    os.remove(frames / "ApplyEyeMakeup" / "v_ApplyEyeMakeup_g01_c02" / "img_00004.jpg")
    with pytest.raises(SystemExit, match=r"12 frame files numbered 1\.\.13, expected 1\.\.12"):
        main(args)


def test_label_list_formats(tmp_path):
    k400 = read_label_names(K400_LABELS)
    assert len(k400) == 400 and k400["abseiling"] == 0 and k400["air_drumming"] == 1
    indexed = tmp_path / "indexed.txt"
    indexed.write_text("0 abseiling\n1 air drumming\n")
    assert read_label_names(str(indexed)) == {"abseiling": 0, "air drumming": 1}
    bare = tmp_path / "names.txt"
    bare.write_text("walk\nrun fast\n")
    assert read_label_names(str(bare)) == {"walk": 0, "run fast": 1}
    bare.write_text("walk\nwalk\n")
    with pytest.raises(SystemExit, match="unique"):
        read_label_names(str(bare))


def make_tree(root, folders) -> None:
    """``root/<folder>/`` with the given video files (names may hold spaces) and one text file."""
    for folder, videos in folders.items():
        (root / folder).mkdir(parents=True)
        for video in videos:
            (root / folder / video).write_bytes(b"")
        (root / folder / "notes.txt").write_bytes(b"")


@pytest.mark.parametrize("spaces_in_labels", [False, True])
def test_k400_spaces_and_underscores(tmp_path, spaces_in_labels, capsys):
    labels = K400_LABELS
    if spaces_in_labels:  # one name per line, written with spaces as in the official CSVs
        labels = tmp_path / "names.txt"
        labels.write_text("".join(n.replace("_", " ") + "\n" for n in read_label_names(K400_LABELS)))
    root = tmp_path / "train"
    make_tree(root, {"abseiling": ["b.mp4", "a.mp4"], "air drumming": ["x y.mp4"],
                     "answering_questions": ["q.mkv"],
                     "passing American football (in game)": ["p.mp4"]})
    out = tmp_path / "k400_train_videos.txt"
    assert main(["folders", "--root", str(root), "--labels", str(labels), "--out", str(out)]) == 0
    assert lines(out) == ["abseiling/a.mp4 0", "abseiling/b.mp4 0", "air drumming/x y.mp4 1",
                          "answering_questions/q.mkv 2", "passing American football (in game)/p.mp4 208"]
    assert read_video_list(str(out))[2] == ("air drumming/x y.mp4", 1)
    err = capsys.readouterr().err
    assert "396 of 400 classes of the label list have no videos" in err
    assert "ignored 4 entries that are not video files" in err


def test_k400_all_unknown_folders_in_one_error(tmp_path):
    root = tmp_path / "train"
    make_tree(root, {"abseiling": ["a.mp4"], "air drumin": ["a.mp4"], "not_a_class": [], "zzz": ["z.mp4"]})
    with pytest.raises(SystemExit) as err:
        main(["folders", "--root", str(root), "--labels", K400_LABELS, "--out", str(tmp_path / "x.txt")])
    message = str(err.value)
    assert "3 of 4 class folders" in message
    assert all(name in message for name in ("'air drumin'", "'not_a_class'", "'zzz'"))
    assert "closest label: 'air_drumming'" in message
    assert not (tmp_path / "x.txt").exists()


def test_k400_empty_classes_warned(tmp_path, capsys):
    labels = tmp_path / "names.txt"
    labels.write_text("walk\nrun fast\njump\n")
    root = tmp_path / "val"
    make_tree(root, {"walk": ["w.mp4"], "run_fast": [], "jump": ["j.avi"], ".cache": ["c.mp4"]})
    main(["folders", "--root", str(root), "--labels", str(labels), "--out", str(tmp_path / "v.txt")])
    assert lines(tmp_path / "v.txt") == ["jump/j.avi 2", "walk/w.mp4 0"]
    assert "1 of 3 classes of the label list have no videos under" in capsys.readouterr().err
