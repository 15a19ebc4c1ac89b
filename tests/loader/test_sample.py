"""Sampler: which frames TSN and dense sampling pick, and that only those are read (once)."""
import numpy as np
import pytest

from paddlevideo.loader.errors import DecodeError
from paddlevideo.loader.pipelines import (
    Sampler,
)
from paddlevideo.loader.pipelines.decode import read_unique
from paddlevideo.loader.pipelines.sample import readable_frames


class FakeReader:
    """Stands in for a video reader: frame i is filled with value i; records the reads."""

    def __init__(self, frames_len, height=4, width=6, fail=None, decodable=None):
        self.frames_len = frames_len
        self.decodable = decodable
        self.shape = (height, width)
        self.calls = []
        self.fail = fail

    def __len__(self):
        return self.frames_len

    def _read_sorted(self, indices):
        self.calls.append(list(indices))
        if self.fail is not None:
            raise DecodeError("fake.avi", f"reading frames {indices} failed: {self.fail}")
        if self.decodable is not None and max(indices) >= self.decodable:
            raise DecodeError("fake.avi", f"frame {max(indices)} out of range")
        frames = np.empty((len(indices), *self.shape, 3), dtype=np.uint8)
        for row, index in enumerate(indices):
            frames[row] = index % 256
        return frames

    def read(self, indices):
        return read_unique(self._read_sorted, np.asarray(indices), "fake.avi")


def sample(sampler, frames_len, **reader_kwargs):
    reader = FakeReader(frames_len, **reader_kwargs)
    results = sampler({"filename": "fake.avi", "label": 0, "reader": reader,
                       "frames_len": frames_len})
    return results, reader


def test_tsn_train_long_video_draws_offset_inside_each_segment(randint_max):
    results, _ = sample(Sampler(num_seg=8), 100)  # average_dur 12
    np.testing.assert_array_equal(results["frame_indices"], np.arange(8) * 12 + 11)
    assert randint_max == [(0, 12)]


def test_tsn_train_random_offsets_stay_in_their_segments():
    np.random.seed(0)
    for _ in range(20):
        idx = Sampler(num_seg=8).sample_indices(100)
        assert np.all(idx // 12 == np.arange(8))


def test_tsn_valid_takes_segment_centres():
    np.testing.assert_array_equal(Sampler(num_seg=8, valid_mode=True).sample_indices(100),
                                  np.arange(8) * 12 + 5)
    idx = Sampler(num_seg=4, seg_len=2, valid_mode=True).sample_indices(40)  # room 8 -> 4
    np.testing.assert_array_equal(idx, [4, 5, 14, 15, 24, 25, 34, 35])


def test_tsn_valid_multi_clip_offsets_are_evenly_spaced():
    idx = Sampler(num_seg=4, valid_mode=True, num_clips=2).sample_indices(100)  # room 24
    np.testing.assert_array_equal(idx, [6, 31, 56, 81, 18, 43, 68, 93])


@pytest.mark.parametrize("valid_mode", [False, True])
@pytest.mark.parametrize("frames_len,num_seg,seg_len",
                         [(5, 8, 1), (1, 8, 1), (10, 8, 2), (8, 8, 2)])
def test_tsn_short_video_gives_full_sorted_in_range_indices(valid_mode, frames_len, num_seg,
                                                            seg_len):
    sampler = Sampler(num_seg=num_seg, seg_len=seg_len, valid_mode=valid_mode)
    idx = sampler.sample_indices(frames_len)
    assert idx.shape == (num_seg * seg_len,)
    assert np.all(np.diff(idx) >= 0)
    assert idx.min() >= 0 and idx.max() < frames_len
    if (frames_len, num_seg, seg_len) == (5, 8, 1):
        np.testing.assert_array_equal(idx, [0, 0, 1, 1, 2, 3, 3, 4])


# ---------------------------------------------------------------- dense (TokShift 8x32) sampling

def test_dense_train_random_start_with_fixed_stride(randint_max):
    results, _ = sample(Sampler(num_seg=8, dense_sample=True, dense_stride=32), 300)
    assert randint_max == [(0, 45)]  # max_bound = 300 - 256 + 1
    np.testing.assert_array_equal(results["frame_indices"], 44 + 32 * np.arange(8))


def test_dense_valid_uses_centre_start():
    idx = Sampler(num_seg=8, dense_sample=True, valid_mode=True).sample_indices(300)
    np.testing.assert_array_equal(idx, 22 + 32 * np.arange(8))


def test_dense_short_video_wraps_around_without_random_draw(monkeypatch):
    monkeypatch.setattr(np.random, "randint", lambda *a, **k: pytest.fail("no draw expected"))
    idx = Sampler(num_seg=8, dense_sample=True, dense_stride=32).sample_indices(100)
    np.testing.assert_array_equal(idx, [0, 32, 64, 96, 28, 60, 92, 24])


def test_dense_test_clips_have_evenly_spaced_starts():
    sampler = Sampler(num_seg=8, dense_sample=True, valid_mode=True, num_clips=3)
    starts = sampler.sample_indices(300).reshape(3, 8)[:, 0]
    np.testing.assert_array_equal(starts, [0, 22, 44])


# ---------------------------------------------------------------- reading frames

def test_sampler_reads_only_sampled_frames_once_in_order():
    results, reader = sample(Sampler(num_seg=8, dense_sample=True, dense_stride=32), 100)
    assert reader.calls == [[0, 24, 28, 32, 60, 64, 92, 96]]
    imgs = results["imgs"]
    assert imgs.dtype == np.uint8 and imgs.shape == (8, 4, 6, 3)
    np.testing.assert_array_equal(imgs[:, 0, 0, 0], [0, 32, 64, 96, 28, 60, 92, 24])
    assert "reader" not in results


def test_sampler_repeated_indices_are_decoded_once():
    results, reader = sample(Sampler(num_seg=8, valid_mode=True), 5)
    assert reader.calls == [[0, 1, 2, 3, 4]]
    np.testing.assert_array_equal(results["imgs"][:, 0, 0, 0], [0, 0, 1, 1, 2, 3, 3, 4])


def test_sampler_get_batch_failure_raises_decode_error_with_path_and_indices():
    with pytest.raises(DecodeError, match=r"fake\.avi.*\[5, 17\]"):
        sample(Sampler(num_seg=2, valid_mode=True), 24, fail=IndexError("Out of bound"))


@pytest.mark.parametrize("kwargs", [{"num_seg": 0}, {"num_seg": 8, "seg_len": 0},
                                    {"num_seg": 8, "num_clips": -1}, {"num_seg": 2.5}])
def test_sampler_rejects_bad_counts(kwargs):
    with pytest.raises(ValueError, match="Sampler"):
        Sampler(**kwargs)


def test_header_longer_than_decodable_samples_a_prefix():
    """Header says 444 frames, 68 decode: sampling retries within shorter prefixes and says so."""
    reader = FakeReader(444, decodable=68)
    results = Sampler(num_seg=8, valid_mode=True)(
        {"filename": "fake.avi", "label": 0, "reader": reader, "frames_len": 444})
    assert results["frame_indices"].max() < 68 and len(results["frame_indices"]) == 8
    assert len(reader.calls) > 1 and readable_frames(results) == (55, 444)


def test_undecodable_video_still_raises():
    reader = FakeReader(10, decodable=0)
    with pytest.raises(DecodeError, match="fake.avi"):
        Sampler(num_seg=4)({"filename": "fake.avi", "label": 0, "reader": reader, "frames_len": 10})


# TimeSformer linspace sampling (PaddleVideo's linspace_sample; official get_start_end_idx), worked by hand:
# linspace(0, 255, 8) = 0, 36.43, 72.86, 109.29, 145.71, 182.14, 218.57, 255 -> truncated to integers.
@pytest.mark.parametrize("frames_len, expected", [
    (300, [0, 36, 72, 109, 145, 182, 218, 255]),  # test: the window starts at frame 0
    (100, [0, 36, 72, 99, 99, 99, 99, 99]),  # shorter than the window: the last frame repeats
])
def test_linspace_test_clip_spreads_frames_over_the_window_from_the_start(frames_len, expected):
    sampler = Sampler(num_seg=8, valid_mode=True, linspace_sample=True, linspace_window=256)
    results, _ = sample(sampler, frames_len)
    assert results["frame_indices"].tolist() == expected


def test_linspace_train_window_starts_anywhere_it_fits(monkeypatch):
    draws = []

    def uniform(low, high):
        draws.append((low, high))
        return high  # the last start that fits: 300 - 256 = 44

    monkeypatch.setattr(np.random, "uniform", uniform)
    sampler = Sampler(num_seg=8, linspace_sample=True, linspace_window=256)
    results, _ = sample(sampler, 300)
    assert draws == [(0.0, 44.0)]
    assert results["frame_indices"].tolist() == [44, 80, 116, 153, 189, 226, 262, 299]


def test_linspace_without_window_covers_the_whole_video():
    results, _ = sample(Sampler(num_seg=4, linspace_sample=True), 10)
    assert results["frame_indices"].tolist() == [0, 3, 6, 9]


@pytest.mark.parametrize("kwargs", [{"dense_sample": True}, {"num_clips": 2}, {"seg_len": 2},
                                    {"linspace_sample": False, "linspace_window": 256},
                                    {"linspace_window": 0}])
def test_linspace_rejects_settings_it_cannot_honour(kwargs):
    with pytest.raises(ValueError, match="linspace"):
        Sampler(num_seg=8, **{"linspace_sample": True, **kwargs})
