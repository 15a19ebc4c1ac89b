"""VideoDecoder on real generated videos: frames, truncated files, error messages."""
import numpy as np
import pytest

from paddlevideo.errors import ConfigError
from paddlevideo.loader.errors import DecodeError
from paddlevideo.loader.pipelines import (
    Sampler,
    VideoDecoder,
)
from paddlevideo.loader.pipelines.sample import readable_frames
from paddlevideo.registry import PIPELINES, build


def test_decoder_and_sampler_on_real_video(make_video, frame_ids):
    path = make_video(num_frames=20)
    results = VideoDecoder()({"filename": str(path), "label": 3})
    assert results["frames_len"] == 20
    results = Sampler(num_seg=4, valid_mode=True)(results)  # average_dur 5 -> centres 2, 7, ...
    assert results["imgs"].shape == (4, 32, 40, 3) and results["imgs"].dtype == np.uint8
    np.testing.assert_array_equal(frame_ids(results["imgs"]), [2, 7, 12, 17])
    assert np.abs(results["imgs"].astype(int) - 10 * np.array([2, 7, 12, 17])[:, None, None, None]
                  ).max() <= 4


def test_truncated_video_gives_a_prefix_clip(make_video, frame_ids):
    """A cut-off file opens (the container still lists frames) but its later frames do not
    decode. decord's reads of such files fail at random from run to run; OpenCV, tried after
    each failed decord read, decodes the readable prefix the same way every time, so the outcome
    is fixed: the right frames from a shorter prefix, measured against the header's count."""
    path = make_video("trunc.avi", num_frames=20)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * 0.6)])
    results = Sampler(num_seg=4, valid_mode=True)(VideoDecoder()({"filename": str(path), "label": 0}))
    indices = results["frame_indices"]
    assert results["imgs"].shape[0] == 4 and frame_ids(results["imgs"]).tolist() == indices.tolist()
    assert indices.max() < results["decodable_len"] < results["frames_len"]
    assert readable_frames(results) == (results["decodable_len"], 20)


def test_decoder_reports_path_of_broken_and_missing_files(make_broken_video, tmp_path):
    broken = make_broken_video()
    with pytest.raises(DecodeError, match="broken.avi"):
        VideoDecoder()({"filename": str(broken), "label": 0})
    with pytest.raises(DecodeError, match="missing.avi"):
        VideoDecoder()({"filename": str(tmp_path / "missing.avi"), "label": 0})


def test_decoder_rejects_unknown_backend():
    with pytest.raises(ValueError, match="decord"):
        VideoDecoder(backend="pyvideo")
    with pytest.raises(ConfigError, match="VideoDecoder"):
        build({"name": "VideoDecoder", "backend": "opencv"}, PIPELINES)
