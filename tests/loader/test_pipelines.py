"""Behaviour of the pipeline ops: which frames are sampled and read, crop geometry, value ranges,
output layout, and how config mistakes are reported."""
import numpy as np
import pytest

from paddlevideo.loader.errors import DecodeError
from paddlevideo.loader.pipelines import (
    CenterCrop,
    Compose,
    Image2Array,
    JitterScale,
    Normalization,
    RandomCrop,
    RandomFlip,
    Sampler,
    Scale,
    ThreeCrop,
    VideoDecoder,
)
from paddlevideo.loader.pipelines.decode import read_unique
from paddlevideo.registry import PIPELINES, ConfigError, build


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


@pytest.fixture
def randint_max(monkeypatch):
    """Make np.random.randint return its largest allowed value and record the (low, high) asked."""
    calls = []

    def fake(low, high=None, size=None):
        calls.append((low, high))
        return np.full(size, high - 1) if size is not None else high - 1

    monkeypatch.setattr(np.random, "randint", fake)
    return calls


def position_clip(n=4, h=10, w=12):
    """uint8 [n, h, w, 3]: channel 0 = row, channel 1 = column, channel 2 = frame number."""
    imgs = np.empty((n, h, w, 3), dtype=np.uint8)
    imgs[..., 0] = np.arange(h)[None, :, None]
    imgs[..., 1] = np.arange(w)[None, None, :]
    imgs[..., 2] = np.arange(n)[:, None, None]
    return imgs


# ---------------------------------------------------------------- TSN segment sampling

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


def test_decoder_and_sampler_on_real_video(make_video, frame_ids):
    path = make_video(num_frames=20)
    results = VideoDecoder()({"filename": str(path), "label": 3})
    assert results["frames_len"] == 20
    results = Sampler(num_seg=4, valid_mode=True)(results)  # average_dur 5 -> centres 2, 7, ...
    assert results["imgs"].shape == (4, 32, 40, 3) and results["imgs"].dtype == np.uint8
    np.testing.assert_array_equal(frame_ids(results["imgs"]), [2, 7, 12, 17])
    assert np.abs(results["imgs"].astype(int) - 10 * np.array([2, 7, 12, 17])[:, None, None, None]
                  ).max() <= 4


def test_truncated_video_gives_a_prefix_clip(make_video, frame_ids, pv_log):
    """A cut-off file opens (the container still lists frames) but its later frames do not
    decode. decord's reads of such files fail at random from run to run; OpenCV, tried after
    each failed decord read, decodes the readable prefix the same way every time, so the outcome
    is fixed: the right frames from a shorter prefix, and a warning naming the file."""
    path = make_video("trunc.avi", num_frames=20)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * 0.6)])
    results = Sampler(num_seg=4, valid_mode=True)(VideoDecoder()({"filename": str(path), "label": 0}))
    indices = results["frame_indices"]
    assert results["imgs"].shape[0] == 4 and frame_ids(results["imgs"]).tolist() == indices.tolist()
    assert indices.max() < results["decodable_len"] < results["frames_len"]
    assert any("trunc.avi" in m and "only the first" in m for m in pv_log)


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


@pytest.mark.parametrize("kwargs", [{"num_seg": 0}, {"num_seg": 8, "seg_len": 0},
                                    {"num_seg": 8, "num_clips": -1}, {"num_seg": 2.5}])
def test_sampler_rejects_bad_counts(kwargs):
    with pytest.raises(ValueError, match="Sampler"):
        Sampler(**kwargs)


# ---------------------------------------------------------------- resizing

def test_scale_short_side_keeps_ratio_and_uint8():
    imgs = np.zeros((3, 32, 40, 3), np.uint8)
    out = Scale(short_size=16)({"imgs": imgs})["imgs"]
    assert out.shape == (3, 16, 20, 3) and out.dtype == np.uint8
    portrait = Scale(short_size=16)({"imgs": np.zeros((2, 40, 32, 3), np.uint8)})["imgs"]
    assert portrait.shape == (2, 20, 16, 3)
    square = Scale(short_size=16, keep_ratio=False)({"imgs": imgs})["imgs"]
    assert square.shape == (3, 16, 16, 3)


def test_scale_skips_frames_already_at_size():
    imgs = np.zeros((2, 32, 40, 3), np.uint8)
    assert Scale(short_size=32)({"imgs": imgs})["imgs"] is imgs


def test_jitter_scale_draws_one_inclusive_size_for_all_frames(randint_max):
    out = JitterScale(min_size=20, max_size=24)({"imgs": np.zeros((5, 32, 40, 3), np.uint8)})
    assert randint_max == [(20, 25)]
    assert out["imgs"].shape == (5, 24, 30, 3)
    with pytest.raises(ValueError, match="max_size"):
        JitterScale(min_size=30, max_size=20)


# ---------------------------------------------------------------- cropping and flipping

def test_random_crop_same_window_for_all_frames():
    np.random.seed(1)
    for _ in range(10):
        out = RandomCrop(target_size=6)({"imgs": position_clip()})["imgs"]
        assert out.shape == (4, 6, 6, 3)
        positions = out[..., :2]
        np.testing.assert_array_equal(positions, np.broadcast_to(positions[:1], positions.shape))
        np.testing.assert_array_equal(out[:, 0, 0, 2], np.arange(4))


def test_random_crop_uses_every_valid_offset(randint_max):
    out = RandomCrop(target_size=6)({"imgs": position_clip(h=10, w=12)})["imgs"]
    assert randint_max == [(0, 5), (0, 7)]
    assert (out[0, 0, 0, 0], out[0, 0, 0, 1]) == (4, 6)


@pytest.mark.parametrize("h,w", [(6, 12), (10, 6), (6, 6)])
def test_random_crop_side_equal_to_target(h, w):
    out = RandomCrop(target_size=6)({"imgs": position_clip(h=h, w=w)})["imgs"]
    assert out.shape == (4, 6, 6, 3)


def test_crops_reject_frames_smaller_than_target():
    for op in (RandomCrop(target_size=11), CenterCrop(target_size=11), ThreeCrop(target_size=11)):
        with pytest.raises(ValueError, match=r"10x12.*11"):
            op({"imgs": position_clip(h=10, w=12)})


def test_center_crop_offsets():
    out = CenterCrop(target_size=6)({"imgs": position_clip(h=10, w=13)})["imgs"]
    assert out.shape == (4, 6, 6, 3)
    assert (out[0, 0, 0, 0], out[0, 0, 0, 1]) == (2, 3)


def test_three_crop_landscape_left_centre_right_crop_major():
    out = ThreeCrop(target_size=6)({"imgs": position_clip(n=4, h=8, w=16)})["imgs"]
    assert out.shape == (12, 6, 6, 3)
    np.testing.assert_array_equal(out[:, 0, 0, 2], np.tile(np.arange(4), 3))  # frame order
    np.testing.assert_array_equal(out[::4, 0, 0, 1], [0, 5, 10])  # x offsets of the 3 views
    np.testing.assert_array_equal(out[::4, 0, 0, 0], [1, 1, 1])  # centred vertically


def test_three_crop_portrait_top_centre_bottom():
    out = ThreeCrop(target_size=6)({"imgs": position_clip(n=2, h=16, w=8)})["imgs"]
    np.testing.assert_array_equal(out[::2, 0, 0, 0], [0, 5, 10])
    np.testing.assert_array_equal(out[::2, 0, 0, 1], [1, 1, 1])


def test_random_flip_flips_all_frames_or_none():
    imgs = position_clip()
    flipped = RandomFlip(p=1.0)({"imgs": imgs.copy()})["imgs"]
    np.testing.assert_array_equal(flipped, imgs[:, :, ::-1])
    np.testing.assert_array_equal(RandomFlip(p=0.0)({"imgs": imgs.copy()})["imgs"], imgs)
    with pytest.raises(ValueError, match="p must"):
        RandomFlip(p=1.5)


# ---------------------------------------------------------------- normalisation and layout

def test_normalization_values_and_float32():
    imgs = np.zeros((1, 1, 3, 3), np.uint8)
    imgs[0, 0] = [[0, 0, 0], [255, 255, 255], [51, 102, 204]]
    out = Normalization(mean=[0.5, 0.4, 0.2], std=[0.5, 0.2, 0.4])({"imgs": imgs})["imgs"]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0, 0], [[-1, -2, -0.5], [1, 3, 2], [-0.6, 0, 1.5]], atol=1e-6)


def test_normalization_rejects_bad_config_and_float_input():
    with pytest.raises(ValueError, match="mean"):
        Normalization(mean=[0.5, 0.5], std=[0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="std"):
        Normalization(mean=[0.5] * 3, std=[0.5, 0, 0.5])
    with pytest.raises(ValueError, match="uint8"):
        Normalization(mean=[0.5] * 3, std=[0.5] * 3)({"imgs": np.zeros((1, 2, 2, 3), np.float32)})


def test_image2array_layouts():
    imgs = position_clip(n=4, h=10, w=12)
    out = Image2Array()({"imgs": imgs.copy()})
    assert set(out) == {"imgs"}
    cthw = out["imgs"]
    assert cthw.shape == (3, 4, 10, 12) and cthw.dtype == np.float32 and cthw.flags.c_contiguous
    np.testing.assert_array_equal(cthw[2, :, 0, 0], np.arange(4))
    np.testing.assert_array_equal(cthw[1, 0, 0, :], np.arange(12))
    tchw = Image2Array(data_format="tchw")({"imgs": imgs})["imgs"]
    assert tchw.shape == (4, 3, 10, 12)
    with pytest.raises(ValueError, match="cthw"):
        Image2Array(data_format="nhwc")


# ---------------------------------------------------------------- Compose

TRAIN_CFG = {
    "decode": {"name": "VideoDecoder"},
    "sample": {"name": "Sampler", "num_seg": 8, "seg_len": 1, "valid_mode": False,
               "dense_sample": False},
    "transform": [
        {"JitterScale": {"min_size": 64, "max_size": 80}},
        {"RandomCrop": {"target_size": 64}},
        {"RandomFlip": {"p": 0.5}},
        {"Normalization": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}},
        {"Image2Array": {"data_format": "cthw"}},
    ],
}


def test_compose_train_pipeline_end_to_end(make_video):
    path = make_video(num_frames=20)
    results = Compose(TRAIN_CFG)({"filename": str(path), "label": 1})
    imgs = results["imgs"]
    assert imgs.shape == (3, 8, 64, 64) and imgs.dtype == np.float32
    assert -1.0 <= imgs.min() and imgs.max() <= 1.0
    expected = (10 * results["frame_indices"] / 255 - 0.5) / 0.5
    np.testing.assert_allclose(imgs.mean(axis=(0, 2, 3)), expected, atol=0.05)


def test_compose_test_pipeline_three_crop(make_video):
    cfg = {"decode": {"name": "VideoDecoder"},
           "sample": {"name": "Sampler", "num_seg": 4, "valid_mode": True, "dense_sample": True,
                      "dense_stride": 4, "num_clips": 2},
           "transform": [{"Scale": {"short_size": 16}}, {"ThreeCrop": {"target_size": 16}},
                         {"Image2Array": None}]}
    results = Compose(cfg)({"filename": str(make_video(num_frames=20)), "label": 0})
    assert results["imgs"].shape == (3, 3 * 2 * 4, 16, 16)


@pytest.mark.parametrize("transform,message", [
    ([{"RandomCrop": {"target_size": 8}}, {"RandomCorp": {"target_size": 8}}],
     r"transform\[1\].*RandomCorp.*Did you mean"),
    ([{"RandomCrop": {"target_sise": 8}}], r"transform\[0\].*target_sise"),
    ([{"RandomCrop": {"target_size": 8}, "RandomFlip": None}], r"transform\[0\].*one-key"),
    ([{"RandomCrop": {"target_size": -8}}], r"transform\[0\].*target_size"),
])
def test_compose_reports_bad_transform_item(transform, message):
    with pytest.raises(ConfigError, match=message):
        Compose({"transform": transform})


def test_compose_reports_bad_stage():
    with pytest.raises(ConfigError, match="sampel"):
        Compose({"sampel": {"name": "Sampler", "num_seg": 8}})
    with pytest.raises(ConfigError, match=r"PIPELINE.sample.*Smapler"):
        Compose({"sample": {"name": "Smapler", "num_seg": 8}})


def test_header_longer_than_decodable_samples_a_prefix(pv_log):
    """Header says 444 frames, 68 decode: sampling retries within shorter prefixes and warns."""
    reader = FakeReader(444, decodable=68)
    results = Sampler(num_seg=8, valid_mode=True)(
        {"filename": "fake.avi", "label": 0, "reader": reader, "frames_len": 444})
    assert results["frame_indices"].max() < 68 and len(results["frame_indices"]) == 8
    assert len(reader.calls) > 1 and any("only the first" in m for m in pv_log)


def test_undecodable_video_still_raises():
    reader = FakeReader(10, decodable=0)
    with pytest.raises(DecodeError, match="fake.avi"):
        Sampler(num_seg=4)({"filename": "fake.avi", "label": 0, "reader": reader, "frames_len": 10})
