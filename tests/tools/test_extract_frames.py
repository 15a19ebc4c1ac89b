"""Frame extraction on tiny generated MJPG videos: names, counts, resize, resume, failures, workers."""
import io
import os
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from tools.extract_frames import Progress, default_frames_list, main, resize_short_side

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write_video(path, num_frames: int, width: int, height: int, seed: int = 0):
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (width, height))
    assert writer.isOpened()
    rng = np.random.RandomState(seed)
    for _ in range(num_frames):
        writer.write(rng.randint(0, 256, (height, width, 3), dtype=np.uint8))
    writer.release()
    return path


@pytest.fixture
def dataset(tmp_path):
    """``videos/`` with two good videos (one path with spaces), one junk file, and their list."""
    videos = tmp_path / "videos"
    write_video(videos / "ClassA" / "v_a.avi", 8, 40, 32, seed=1)
    write_video(videos / "Class B" / "v b.avi", 5, 32, 48, seed=2)
    (videos / "ClassA" / "broken.avi").write_bytes(b"not a video" * 50)
    listing = tmp_path / "train_videos.txt"
    listing.write_text("ClassA/v_a.avi 0\nClass B/v b.avi 1\nClassA/broken.avi 0\n")
    return tmp_path


def extract(dataset, out="frames", *extra):
    return main(["--list", str(dataset / "train_videos.txt"), "--data_prefix", str(dataset / "videos"),
                 "--out", str(dataset / out), *extra])


def frame_names(folder):
    return sorted(os.listdir(folder))


def test_names_counts_failures_and_list(dataset, capsys):
    assert extract(dataset) == 1  # the broken video makes the exit status 1, the others are done
    out = capsys.readouterr()
    assert "extracted 2 videos (13 frames)" in out.out and "failed 1" in out.out
    assert "broken.avi: OpenCV cannot open it" in out.err
    assert "3/3 videos" in out.err and "ETA" in out.err
    frames = dataset / "frames"
    assert frame_names(frames / "ClassA" / "v_a") == [f"img_{i:05d}.jpg" for i in range(1, 9)]
    assert len(frame_names(frames / "Class B" / "v b")) == 5
    assert cv2.imread(str(frames / "ClassA" / "v_a" / "img_00008.jpg")).shape == (32, 40, 3)
    assert sorted(os.listdir(frames / "ClassA")) == ["v_a"]  # no .partial folder, nothing for broken
    listing = (dataset / "train_rawframes.txt").read_text().splitlines()
    assert listing == ["ClassA/v_a 8 0", "Class B/v b 5 1"]


def test_resize_and_quality(dataset):
    extract(dataset, "small", "--short_side", "16", "--quality", "30")
    extract(dataset, "kept", "--frames_list", str(dataset / "kept.txt"))
    assert cv2.imread(str(dataset / "small" / "ClassA" / "v_a" / "img_00001.jpg")).shape == (16, 20, 3)
    assert cv2.imread(str(dataset / "small" / "Class B" / "v b" / "img_00001.jpg")).shape == (24, 16, 3)
    assert (dataset / "kept.txt").read_text().splitlines() == ["ClassA/v_a 8 0", "Class B/v b 5 1"]
    small = os.path.getsize(dataset / "small" / "ClassA" / "v_a" / "img_00001.jpg")
    assert small < os.path.getsize(dataset / "kept" / "ClassA" / "v_a" / "img_00001.jpg")


def test_resize_short_side():
    frame = np.zeros((30, 50, 3), np.uint8)
    assert resize_short_side(frame, 0) is frame
    assert resize_short_side(frame, 60).shape == (60, 100, 3)
    assert resize_short_side(frame.transpose(1, 0, 2), 15).shape == (25, 15, 3)


def test_resume_skips_done_and_redoes_partial(dataset, capsys):
    extract(dataset)
    done = dataset / "frames" / "Class B" / "v b" / "img_00001.jpg"
    stamp = os.stat(done).st_mtime_ns
    # A run killed while writing ClassA/v_a leaves only its .partial folder.
    folder = dataset / "frames" / "ClassA" / "v_a"
    os.rename(folder, f"{folder}.partial")
    os.remove(f"{folder}.partial/img_00008.jpg")
    capsys.readouterr()
    extract(dataset)
    out = capsys.readouterr().out
    assert "3 videos: 1 already extracted, 2 to extract" in out  # the broken one is retried
    assert os.stat(done).st_mtime_ns == stamp
    assert len(frame_names(folder)) == 8 and not os.path.exists(f"{folder}.partial")
    # An empty (or badly numbered) final folder is not mistaken for a finished one.
    for name in frame_names(folder):
        os.remove(folder / name)
    extract(dataset)
    assert len(frame_names(folder)) == 8
    assert (dataset / "train_rawframes.txt").read_text().splitlines() == ["ClassA/v_a 8 0", "Class B/v b 5 1"]


def test_run_killed_mid_video_is_redone(tmp_path):
    """SIGKILL while a video is half written: the next run must extract it again, completely."""
    write_video(tmp_path / "videos" / "long.avi", 300, 160, 120)
    out = tmp_path / "frames"
    cmd = [sys.executable, os.path.join(ROOT, "tools", "extract_frames.py"), "--video_dir",
           str(tmp_path / "videos"), "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not any(name.endswith(".jpg") for _, _, names in os.walk(out) for name in names):
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before a frame was seen"
        time.sleep(0.001)
    proc.kill()
    proc.wait()
    written = sum(len(names) for _, _, names in os.walk(out))
    if written >= 300:
        pytest.skip("the extraction finished before it could be killed")
    assert main(["--video_dir", str(tmp_path / "videos"), "--out", str(out)]) == 0
    assert frame_names(out / "long") == [f"img_{i:05d}.jpg" for i in range(1, 301)]
    assert os.listdir(out) == ["long"]


def test_truncated_video_keeps_decodable_frames(tmp_path, capsys):
    good = write_video(tmp_path / "videos" / "long.avi", 20, 40, 32)
    data = good.read_bytes()
    (tmp_path / "videos" / "cut.avi").write_bytes(data[: len(data) // 2])
    assert main(["--video_dir", str(tmp_path / "videos"), "--out", str(tmp_path / "frames")]) == 0
    err = capsys.readouterr().err
    decoded = len(frame_names(tmp_path / "frames" / "cut"))
    assert 0 < decoded < 20
    assert f"cut.avi: {decoded} of 20 frames" in err and "long.avi" not in err
    assert len(frame_names(tmp_path / "frames" / "long")) == 20
    assert not (tmp_path / "videos_rawframes.txt").exists()  # a folder has no labels: no list


def test_two_workers_same_output(dataset):
    extract(dataset, "one", "--frames_list", str(dataset / "one.txt"))
    assert extract(dataset, "two", "--workers", "2", "--frames_list", str(dataset / "two.txt")) == 1
    assert (dataset / "one.txt").read_text() == (dataset / "two.txt").read_text()
    for sub in ("ClassA/v_a", "Class B/v b"):
        names = frame_names(dataset / "one" / sub)
        assert names == frame_names(dataset / "two" / sub)
        for name in names:
            assert (dataset / "one" / sub / name).read_bytes() == (dataset / "two" / sub / name).read_bytes()


def test_bad_inputs_rejected(tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text("../outside.avi 0\n")
    with pytest.raises(SystemExit, match="must be relative"):
        main(["--list", str(listing), "--out", str(tmp_path / "frames")])
    listing.write_text("a/x.avi 0\na/x.mp4 1\n")
    with pytest.raises(SystemExit, match="share a frame folder"):
        main(["--list", str(listing), "--out", str(tmp_path / "frames")])
    listing.write_text("a/x.avi zero\n")
    with pytest.raises(SystemExit, match="line 1"):
        main(["--list", str(listing), "--out", str(tmp_path / "frames")])
    with pytest.raises(SystemExit):  # argparse: a folder gives no labels for a frames list
        main(["--video_dir", str(tmp_path), "--out", str(tmp_path / "f"), "--frames_list", "x.txt"])


def test_default_frames_list_names():
    assert default_frames_list("d/ucf101_train_split_1_videos.txt") == "d/ucf101_train_split_1_rawframes.txt"
    assert default_frames_list("data/k400/train.list") == "data/k400/train_frames.list"


def test_progress_line():
    stream = io.StringIO()
    progress = Progress(4, stream=stream, log_interval=0.0)
    for frames in (10, 0):
        progress.update(frames, failed=frames == 0)
    last = stream.getvalue().splitlines()[-1]
    assert "2/4 videos" in last and "frames/s" in last and "ETA" in last and "failed 1" in last


def test_tools_do_not_import_paddle_or_decord():
    code = ("import sys, tools.extract_frames, tools.build_file_list; "
            "print(sorted(m for m in ('paddle', 'decord') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
