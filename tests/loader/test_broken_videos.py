"""Broken and unusual video files, each written by the test, through ``VideoDecoder`` + ``Sampler``.

Broken files must raise ``DecodeError`` naming the file and a specific reason; unusual but valid
files (greyscale, odd sizes, fewer frames than ``num_seg``, thousands of frames) must give the
right frames. Cases that concern both backends run twice: ``decord`` (OpenCV's reads made
unusable, so a pass cannot come from the fallback; OpenCV still reads the header's frame count) and
``opencv`` (decord made unable to open anything, so ``open_video`` falls back).
"""
from pathlib import Path
from typing import Dict

import cv2
import decord
import numpy as np
import pytest

from paddlevideo.loader.errors import DecodeError
from paddlevideo.loader.pipelines import Sampler, VideoDecoder
from paddlevideo.loader.pipelines.decode import (
    OPENCV_MAX_GRAB_GAP,
    DecordVideoReader,
    OpenCVVideoReader,
    open_video,
)
from paddlevideo.loader.pipelines.sample import readable_frames

LONG_FRAMES = 2400
EXAMPLE_VIDEO = Path(__file__).resolve().parents[2] / "data" / "example" / "BrushingTeeth.avi"
REAL_CAPTURE = cv2.VideoCapture
REAL_DECORD = decord.VideoReader


def refuse(*args, **kwargs):
    raise AssertionError("this backend must not be used here")


def forbid_decord(monkeypatch) -> None:
    """decord fails to open every file, as it does for some real ones; OpenCV takes over."""

    def cannot_open(*args, **kwargs):
        raise decord.DECORDError("decord switched off by the test")

    monkeypatch.setattr(decord, "VideoReader", cannot_open)


@pytest.fixture(params=["decord", "opencv"])
def backend(request, monkeypatch) -> str:
    if request.param == "decord":
        monkeypatch.setattr(OpenCVVideoReader, "read", refuse)
    else:
        forbid_decord(monkeypatch)
    return request.param


def clip(path: Path, num_seg: int = 4, **sampler_kwargs) -> Dict:
    """The test pipeline's first two ops on ``path``: results with imgs, frame_indices, ..."""
    decoded = VideoDecoder()({"filename": str(path), "label": 0})
    return Sampler(num_seg=num_seg, valid_mode=True, **sampler_kwargs)(decoded)


def cut(path: Path, fraction: float) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * fraction)])
    return path


# ---------------------------------------------------------------- files that cannot be videos

@pytest.mark.parametrize("case, reason", [("missing", "file does not exist"),
                                          ("empty", r"the file is empty \(0 bytes\)"),
                                          ("folder", "not a regular file")])
def test_missing_empty_or_folder_is_reported_without_trying_a_backend(case, reason, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setattr(decord, "VideoReader", refuse)
    monkeypatch.setattr(cv2, "VideoCapture", refuse)
    path = tmp_path / f"{case}.avi"
    if case == "empty":
        path.touch()
    elif case == "folder":
        path.mkdir()
    with pytest.raises(DecodeError, match=reason) as info:
        VideoDecoder()({"filename": str(path), "label": 0})
    assert info.value.path == str(path) and f"'{path}'" in str(info.value)


@pytest.mark.parametrize("case", ["not_a_video", "cut_in_half"])
def test_unopenable_file_names_both_backends(case, make_video, make_broken_video):
    """Garbage bytes, or an OpenCV-written .avi cut in half (its frame index is lost and the
    chunks left do not parse): neither backend opens it, and the error says what each said."""
    if case == "not_a_video":
        path = make_broken_video(f"{case}.avi")
    else:
        path = cut(make_video(f"{case}.avi"), 0.5)
    with pytest.raises(DecodeError) as info:
        VideoDecoder()({"filename": str(path), "label": 0})
    message = str(info.value)
    assert f"{case}.avi" in message and "decord and OpenCV both failed" in message
    assert "decord could not open it (" in message
    assert "OpenCV (FFmpeg) could not open it" in message


# ---------------------------------------------------------------- partly decodable files

def test_file_cut_in_half_gives_a_clip_of_its_readable_frames(make_avi, frame_ids):
    """A hand-written .avi cut in half keeps its first frames readable: the clip comes from
    those (decord opens it but fails its reads at random; OpenCV reads the prefix)."""
    results = clip(cut(make_avi("half.avi"), 0.5))
    indices = results["frame_indices"]
    assert frame_ids(results["imgs"]).tolist() == indices.tolist()
    assert indices.max() < results["decodable_len"] <= results["frames_len"]


def test_corrupt_tail_samples_the_decodable_prefix_and_says_so(make_avi, frame_ids):
    """The container lists 20 frames but 12-19 are garbage: decord opens the file and fails the
    read, OpenCV decodes frames 0-11; sampling retries within the first 10 frames."""
    results = clip(make_avi("tail.avi", corrupt_from=12))
    assert results["frames_len"] == 20 and results["decodable_len"] == 10
    assert results["frame_indices"].tolist() == [0, 2, 4, 6]
    assert frame_ids(results["imgs"]).tolist() == [0, 2, 4, 6]
    assert readable_frames(results) == (10, 20)


def test_header_count_larger_than_the_frames(make_avi, frame_ids, monkeypatch):
    """The AVI headers claim 60 frames, 20 exist. decord counts the index entries (20) and samples
    those; OpenCV believes the header (60), so its clip comes from the first 15 frames. Either way
    the header's 60 is the promise the clip is measured against."""
    path = make_avi("claims60.avi", header_frames=60)
    results = clip(path)
    assert results["frames_len"] == 20 and results["header_frames"] == 60
    assert readable_frames(results) == (20, 60)
    forbid_decord(monkeypatch)
    results = clip(path)
    assert results["frames_len"] == 60 and results["decodable_len"] == 15
    assert frame_ids(results["imgs"]).tolist() == results["frame_indices"].tolist() == [1, 4, 7, 10]
    assert readable_frames(results) == (15, 60)


@pytest.mark.parametrize("kilobytes, readable", [(20, 3), (60, 18)])
def test_download_cut_short_is_sampled_from_its_frames_and_measured_against_the_header(
        kilobytes, readable, tmp_path):
    """A real UCF101 clip (MPEG-4 part 2 .avi, 175 frames) cut after its first kilobytes, as an
    interrupted download leaves it: the index is lost, decord counts the frames present, OpenCV's
    header still says 175."""
    path = tmp_path / "cut.avi"
    path.write_bytes(EXAMPLE_VIDEO.read_bytes()[:kilobytes * 1000])
    results = clip(path, num_seg=8)
    assert results["header_frames"] == 175
    assert results["frame_indices"].max() < readable
    assert readable_frames(results) == (readable, 175)
    assert readable_frames(clip(EXAMPLE_VIDEO, num_seg=8)) is None  # the whole file


def test_frames_neither_backend_decodes_give_both_reasons(make_avi):
    reader = open_video(str(make_avi("tail.avi", corrupt_from=12)))
    with pytest.raises(DecodeError) as info:
        reader.read(np.array([3, 15]))
    message = str(info.value)
    assert "tail.avi" in message and "decord failed reading frames [3, 15]" in message
    assert "OpenCV could not decode frame 15 (the header lists 20 frames)" in message


def test_decord_read_failure_falls_back_to_opencv(make_video, frame_ids, monkeypatch):
    """decord opens the file but every read fails: the same frames come from OpenCV."""

    def failing_read(self, unique):
        raise DecodeError(self.path, "decord read failed (forced by the test)")

    monkeypatch.setattr(DecordVideoReader, "_get_batch", failing_read)
    results = clip(make_video("clip.avi"))
    assert results["frames_len"] == 20 and results["decodable_len"] == 20
    assert frame_ids(results["imgs"]).tolist() == [2, 7, 12, 17]


def test_file_decord_cannot_decode_is_read_by_opencv(make_video, frame_ids):
    """decord 0.6 opens 48-pixel-wide MJPG files but fails every read; OpenCV reads them."""
    results = clip(make_video("w48.avi", width=48, height=40))
    assert results["imgs"].shape == (4, 40, 48, 3)
    assert frame_ids(results["imgs"]).tolist() == [2, 7, 12, 17]


def test_opencv_reader_keeps_order_and_recovers_after_a_failed_read(make_avi, frame_ids):
    reader = OpenCVVideoReader(str(make_avi("tail.avi", corrupt_from=12)))
    assert len(reader) == 20
    assert frame_ids(reader.read(np.array([5, 1, 5, 0]))).tolist() == [5, 1, 5, 0]
    with pytest.raises(DecodeError, match=r"could not decode frame 15 \(the header lists 20"):
        reader.read(np.array([3, 15]))
    assert frame_ids(reader.read(np.array([11, 2]))).tolist() == [11, 2]


# ---------------------------------------------------------------- unusual but valid files

def test_fewer_frames_than_num_seg_repeats_frames(backend, make_video, frame_ids):
    results = clip(make_video("three.avi", num_frames=3), num_seg=8)
    assert results["frame_indices"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2]
    assert frame_ids(results["imgs"]).tolist() == [0, 0, 0, 1, 1, 1, 2, 2]
    assert results["frames_len"] == results["decodable_len"] == 3


@pytest.mark.parametrize("writer", ["cv2_writer", "hand_written"])
def test_greyscale_video_gives_rgb_frames(backend, writer, tmp_path, make_avi, frame_ids):
    if writer == "hand_written":  # one-component JPEGs
        path = make_avi("grey.avi", grey=True)
    else:
        path = tmp_path / "grey.avi"
        out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (40, 32), False)
        for i in range(20):
            out.write(np.full((32, 40), 10 * i, dtype=np.uint8))
        out.release()
    imgs = clip(path)["imgs"]
    assert imgs.dtype == np.uint8 and imgs.shape == (4, 32, 40, 3)
    assert (imgs[..., 0] == imgs[..., 1]).all() and (imgs[..., 1] == imgs[..., 2]).all()
    assert frame_ids(imgs).tolist() == [2, 7, 12, 17]


def test_odd_sized_video_keeps_its_size(backend, make_avi, frame_ids):
    """97x131 (cv2.VideoWriter would round it to 96x130, so the file is written by hand)."""
    imgs = clip(make_avi("odd.avi", width=97, height=131))["imgs"]
    assert imgs.dtype == np.uint8 and imgs.shape == (4, 131, 97, 3)
    assert frame_ids(imgs).tolist() == [2, 7, 12, 17]


# ---------------------------------------------------------------- long videos: bounded decoding

BANDS, BAND_WIDTH = 3, 32  # 32 px bands: whole JPEG/MPEG-4 blocks, so the values do not bleed


def band_frame(index: int) -> np.ndarray:
    """A 96x16 frame showing ``index`` in base 26, one flat band (value 10*digit) per digit."""
    digits = [(index // 26 ** k) % 26 for k in range(BANDS)]
    return np.repeat(np.array(digits, dtype=np.uint8) * 10, BAND_WIDTH)[None, :, None].repeat(
        16, axis=0).repeat(3, axis=2)


def band_ids(imgs: np.ndarray) -> np.ndarray:
    """The indices shown by decoded ``band_frame``s [N, 16, 96, 3]."""
    centres = imgs[:, 4:12].reshape(len(imgs), 8, BANDS, BAND_WIDTH, 3)[:, :, :, 8:24]
    digits = np.rint(centres.mean(axis=(1, 3, 4)) / 10).astype(np.int64)  # [N, BANDS]
    return digits @ (26 ** np.arange(BANDS))


@pytest.fixture(scope="module")
def long_videos(tmp_path_factory) -> Dict[str, Path]:
    """2400-frame 96x16 videos: MJPG .avi (every frame a keyframe) and MPEG-4 .mp4 (P-frames,
    a keyframe every 12 frames), written once for the module."""
    root, paths = tmp_path_factory.mktemp("long"), {}
    for codec, name in (("MJPG", "long.avi"), ("mp4v", "long.mp4")):
        out = cv2.VideoWriter(str(root / name), cv2.VideoWriter_fourcc(*codec), 25, (96, 16))
        assert out.isOpened()
        for i in range(LONG_FRAMES):
            out.write(band_frame(i))
        out.release()
        paths[codec] = root / name
    return paths


@pytest.fixture
def capture_calls(monkeypatch) -> Dict[str, int]:
    """Counts of the decoding calls made on every ``cv2.VideoCapture`` opened during the test."""
    counts = {"read": 0, "grab": 0, "seek": 0}

    class CountingCapture:
        def __init__(self, *args):
            self._cap = REAL_CAPTURE(*args)

        def read(self):
            counts["read"] += 1
            return self._cap.read()

        def grab(self):
            counts["grab"] += 1
            return self._cap.grab()

        def set(self, prop, value):
            counts["seek"] += prop == cv2.CAP_PROP_POS_FRAMES
            return self._cap.set(prop, value)

        def __getattr__(self, name):
            return getattr(self._cap, name)

    monkeypatch.setattr(cv2, "VideoCapture", CountingCapture)
    return counts


def test_long_video_decord_asks_only_for_the_sampled_frames(long_videos, monkeypatch):
    batches = []

    class RecordingReader(REAL_DECORD):
        def get_batch(self, indices):
            batches.append(list(indices))
            return super().get_batch(indices)

    monkeypatch.setattr(decord, "VideoReader", RecordingReader)
    monkeypatch.setattr(OpenCVVideoReader, "read", refuse)
    results = clip(long_videos["MJPG"], num_seg=8)
    indices = results["frame_indices"].tolist()
    assert results["frames_len"] == LONG_FRAMES and len(indices) == 8
    assert batches == [indices] and band_ids(results["imgs"]).tolist() == indices


@pytest.mark.parametrize("codec", ["MJPG", "mp4v"])
def test_long_video_opencv_seeks_over_long_gaps(codec, long_videos, monkeypatch, capture_calls):
    """TSN's 8 frames lie 300 apart: one seek and one read per frame, no frame grabbed between."""
    forbid_decord(monkeypatch)
    results = clip(long_videos[codec], num_seg=8)
    indices = results["frame_indices"]
    assert results["frames_len"] == LONG_FRAMES and np.diff(indices).min() > OPENCV_MAX_GRAB_GAP
    assert band_ids(results["imgs"]).tolist() == indices.tolist()
    assert capture_calls == {"read": 8, "grab": 0, "seek": 8}


@pytest.mark.parametrize("codec", ["MJPG", "mp4v"])
def test_long_video_opencv_grabs_over_short_gaps(codec, long_videos, monkeypatch, capture_calls):
    """Dense sampling (stride 4): one seek to the clip, then 3 grabs between consecutive reads."""
    forbid_decord(monkeypatch)
    results = clip(long_videos[codec], num_seg=8, dense_sample=True, dense_stride=4)
    indices = results["frame_indices"]
    assert indices[0] > OPENCV_MAX_GRAB_GAP and np.diff(indices).tolist() == [4] * 7
    assert band_ids(results["imgs"]).tolist() == indices.tolist()
    assert capture_calls == {"read": 8, "grab": 7 * 3, "seek": 1}
