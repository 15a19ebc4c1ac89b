"""Choose which frames of a video form a clip, and decode only those frames.

Why three schemes: TSN segment sampling (PaddleVideo's ``Sampler``) covers the whole video with
``num_seg`` snippets; the official TokShift recipe ("8x32") takes ``num_seg`` frames at a fixed
stride of ``dense_stride`` frames from one start position; TimeSformer (official and PaddleVideo's
``linspace_sample``) spreads ``num_seg`` frames evenly over a time window. All are pure index
arithmetic (``tsn_indices`` / ``dense_indices`` / ``linspace_indices``, testable without videos)
followed by a single ``reader.read`` of the chosen indices (see ``decode.py`` for the reader contract).
"""
from typing import Any, Dict, Optional, Tuple

import numpy as np

from paddlevideo.loader.errors import DecodeError
from paddlevideo.registry import PIPELINES

from .compose import check_positive_int, require_keys

# A clip is reported as coming from part of its video when fewer than this fraction of the frames its
# header promises were readable: container counts estimated from the duration (no count stored) can
# be off by a frame or two; a download cut short or a corrupt tail loses far more.
SHORT_FRACTION = 0.95


def tsn_indices(frames_len: int, num_seg: int, seg_len: int, valid_mode: bool,
                clip: int = 0, num_clips: int = 1) -> np.ndarray:
    """One TSN clip: ``seg_len`` consecutive frames in each of ``num_seg`` segments.

    The video is cut into segments of ``average_dur = frames_len // num_seg`` frames (the last
    ``frames_len % num_seg`` frames are never used, as in PaddleVideo). Within a segment a snippet
    may start at offsets ``0 .. room`` with ``room = average_dur - seg_len``: train draws one
    offset per segment with ``np.random.randint``; valid uses the offset
    ``room * (2*clip + 1) // (2*num_clips)`` -- the centre (``room // 2``) for one clip, and for
    ``num_clips`` clips the centres of ``num_clips`` equal parts of ``[0, room]``, i.e. evenly
    spaced offsets.
    Short videos (``average_dur < seg_len``) cannot hold disjoint snippets, so the
    ``num_seg * seg_len`` positions are spread evenly over the video (``j * frames_len // total``),
    which repeats frames but stays in range and non-decreasing.

    Returns:
        int64 array of shape [num_seg * seg_len], values in [0, frames_len).
    """
    average_dur = frames_len // num_seg
    if average_dur < seg_len:
        total = num_seg * seg_len
        return np.arange(total, dtype=np.int64) * frames_len // total
    room = average_dur - seg_len
    if valid_mode:
        offsets = np.full(num_seg, room * (2 * clip + 1) // (2 * num_clips), dtype=np.int64)
    else:
        offsets = np.random.randint(0, room + 1, size=num_seg).astype(np.int64)
    starts = np.arange(num_seg, dtype=np.int64) * average_dur + offsets
    return (starts[:, None] + np.arange(seg_len)).reshape(-1)


CLIP_STARTS = ("even", "official")


def official_start(frames_len: int, num_seg: int, stride: int, valid_mode: bool,
                   clip: int = 0, num_clips: int = 1) -> int:
    """Start frame of a dense clip exactly as the official TokShift ``data/dataset.py`` computes it.

    With ``max_bound = max(frames_len - num_seg*stride + 1, 1)``:

    * train (``read_random_clip``): ``np.random.randint(0, max_bound - 1)`` -- the upper bound is
      exclusive, so the last possible start ``max_bound - 1`` is never drawn, and
      ``max_bound == 2`` always gives 0;
    * valid/test (``read_clip``): ``int(clip * (frames_len / num_clips))`` clipped to
      ``[0, max_bound]``. The float product is kept on purpose: it can round below the exact
      ``clip * frames_len // num_clips`` (e.g. 30 frames, 22 clips, clip 11 -> 14, not 15).
      One clip starts at frame 0; the upper clip bound is ``max_bound``, one past the last
      start that fits, as in the official code.

    Both give 0 when ``max_bound == 1`` (the clip wraps around a short video).
    """
    max_bound = max(frames_len - num_seg * stride + 1, 1)
    if max_bound == 1:
        return 0
    if not valid_mode:
        return int(np.random.randint(0, max_bound - 1))
    tick = frames_len / num_clips
    return int(np.clip(int(clip * tick), 0, max_bound))


def even_start(frames_len: int, num_seg: int, stride: int, valid_mode: bool,
               clip: int = 0, num_clips: int = 1) -> int:
    """Start frame of a dense clip, spreading test clips evenly over all possible starts.

    With ``max_bound = max(frames_len - num_seg*stride + 1, 1)`` possible starts: train draws
    ``start`` in ``[0, max_bound)`` (0 without a random draw when ``max_bound == 1``); valid with
    one clip uses the centre ``(max_bound - 1) // 2``; valid with ``num_clips > 1`` uses
    ``clip * (max_bound - 1) // (num_clips - 1)``, from the first to the last start that fits.
    """
    max_bound = max(frames_len - num_seg * stride + 1, 1)
    if not valid_mode:
        return int(np.random.randint(0, max_bound)) if max_bound > 1 else 0
    if num_clips == 1:
        return (max_bound - 1) // 2
    return clip * (max_bound - 1) // (num_clips - 1)


def dense_indices(frames_len: int, num_seg: int, seg_len: int, stride: int, valid_mode: bool,
                  clip: int = 0, num_clips: int = 1, clip_starts: str = "even") -> np.ndarray:
    """Frame indices of one dense clip (official TokShift "8x32" sampling).

    The clip starts at ``official_start`` or ``even_start`` (``clip_starts``); index ``i`` is
    ``(start + i*stride) % frames_len`` (plus ``0 .. seg_len-1``), so short videos wrap around to
    their beginning.

    Returns:
        int64 array of shape [num_seg * seg_len], values in [0, frames_len).
    """
    start_fn = official_start if clip_starts == "official" else even_start
    start = start_fn(frames_len, num_seg, stride, valid_mode, clip, num_clips)
    pos = start + np.arange(num_seg, dtype=np.int64)[:, None] * stride + np.arange(seg_len)
    return pos.reshape(-1) % frames_len


def linspace_indices(frames_len: int, num_seg: int, window: Optional[float], valid_mode: bool) -> np.ndarray:
    """One TimeSformer clip: ``num_seg`` frames spread evenly over a window of ``window`` frames.

    As PaddleVideo's ``linspace_sample`` with its pyav decoder (and the official TimeSformer
    ``get_start_end_idx``): with ``delta = max(frames_len - window, 0)`` the window starts at
    ``uniform(0, delta)`` in train and at frame 0 in valid/test (one clip), and the indices are
    ``linspace(start, start + window - 1, num_seg)`` clipped to the video and truncated to integers
    -- so a video shorter than the window repeats its last frame. ``window`` None: the whole video,
    ``linspace(0, frames_len - 1, num_seg)`` (PaddleVideo's other decoders).

    Returns:
        int64 array of shape [num_seg], non-decreasing, values in [0, frames_len).
    """
    if window is None:
        start, end = 0.0, frames_len - 1.0
    else:
        delta = max(frames_len - window, 0.0)
        start = 0.0 if valid_mode else float(np.random.uniform(0.0, delta))
        end = start + window - 1.0
    return np.clip(np.linspace(start, end, num_seg), 0, frames_len - 1).astype(np.int64)


@PIPELINES.register()
class Sampler:
    """Samples ``num_clips`` clips of ``num_seg * seg_len`` frames and decodes only those frames.

    Requires: ``reader``, ``frames_len``, ``filename`` (from ``VideoDecoder``).
    Adds: ``imgs`` (uint8 [num_clips*num_seg*seg_len, H, W, 3], RGB, clip-major: clip ``k``
    occupies rows ``k*num_seg*seg_len .. (k+1)*num_seg*seg_len - 1``) and ``frame_indices``
    (int64 [same length], the decoded frame numbers in that order) and ``decodable_len`` (the
    length of the prefix the clip was sampled from: ``frames_len`` unless the header promised more
    frames than decode).
    Removes: ``reader`` (the decoder is released as soon as the frames are read).

    Args:
        num_seg: segments (TSN) or frames (dense) per clip.
        seg_len: consecutive frames taken at each sampled position.
        valid_mode: deterministic positions (valid/test) instead of random ones (train).
        dense_sample: use TokShift dense fixed-stride sampling instead of TSN segments.
        dense_stride: frame stride of dense sampling (32 in TokShift's "8x32").
        num_clips: temporal clips per video (multi-clip testing); see ``tsn_indices`` and
            ``dense_indices`` for how the clips are spaced.
        clip_starts: where dense clips start (dense sampling only). ``"even"`` (default): train
            draws any start that fits, one valid clip is centred and several are spread evenly
            from the first to the last start that fits (``even_start``). ``"official"``: the
            official TokShift arithmetic in train and valid/test (``official_start``): one valid
            clip starts at frame 0, clip ``k`` of ``n`` near frame ``k * frames_len / n``, so
            late clips of short videos wrap around and repeat.
        linspace_sample: TimeSformer sampling (``linspace_indices``): ``num_seg`` frames spread
            evenly over ``linspace_window`` frames, or over the whole video when it is None.
        linspace_window: the window in frames (the official TimeSformer 8x32: 8 * 32 = 256 frames at
            30 fps); ``seg_len`` and ``num_clips`` must be 1.

    Raises:
        ValueError: a non-positive count, an unknown ``clip_starts``, ``"official"`` without dense
            sampling, or linspace sampling combined with dense sampling, several clips or
            ``seg_len`` > 1 (at construction).
        DecodeError: no prefix of the video decodes (see ``read_decodable``).
    """

    def __init__(self, num_seg: int, seg_len: int = 1, valid_mode: bool = False,
                 dense_sample: bool = False, dense_stride: int = 32, num_clips: int = 1,
                 clip_starts: str = "even", linspace_sample: bool = False,
                 linspace_window: Optional[float] = None):
        if clip_starts not in CLIP_STARTS:
            raise ValueError(f"Sampler: clip_starts must be one of {list(CLIP_STARTS)}, "
                             f"got {clip_starts!r}")
        if clip_starts == "official" and not dense_sample:
            raise ValueError("Sampler: clip_starts 'official' describes dense clips; "
                             "set dense_sample: True")
        for name, value in (("num_seg", num_seg), ("seg_len", seg_len),
                            ("dense_stride", dense_stride), ("num_clips", num_clips)):
            check_positive_int(value, name, "Sampler")
        if linspace_sample and (dense_sample or num_clips != 1 or seg_len != 1):
            raise ValueError("Sampler: linspace_sample takes one clip of single frames; it cannot be "
                             "combined with dense_sample, num_clips > 1 or seg_len > 1")
        if linspace_window is not None and (not linspace_sample or not linspace_window >= 1):
            raise ValueError(f"Sampler: linspace_window must be >= 1 frame and needs linspace_sample: True, "
                             f"got {linspace_window!r}")
        self.linspace_sample = bool(linspace_sample)
        self.linspace_window = None if linspace_window is None else float(linspace_window)
        self.num_seg = num_seg
        self.seg_len = seg_len
        self.valid_mode = bool(valid_mode)
        self.dense_sample = bool(dense_sample)
        self.dense_stride = dense_stride
        self.num_clips = num_clips
        self.clip_starts = clip_starts

    def sample_indices(self, frames_len: int) -> np.ndarray:
        """Indices of all clips, clip-major: int64 [num_clips * num_seg * seg_len]."""
        if self.linspace_sample:
            return linspace_indices(frames_len, self.num_seg, self.linspace_window, self.valid_mode)
        clips = []
        for clip in range(self.num_clips):
            if self.dense_sample:
                clips.append(dense_indices(frames_len, self.num_seg, self.seg_len,
                                           self.dense_stride, self.valid_mode, clip,
                                           self.num_clips, self.clip_starts))
            else:
                clips.append(tsn_indices(frames_len, self.num_seg, self.seg_len, self.valid_mode,
                                         clip, self.num_clips))
        return np.concatenate(clips)

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("reader", "frames_len", "filename"), "Sampler")
        frames_len = int(results["frames_len"])
        if frames_len < 1:
            raise DecodeError(results["filename"], f"frames_len is {frames_len}")
        reader = results.pop("reader")
        results["imgs"], indices, results["decodable_len"] = self.read_decodable(
            reader, results["filename"], frames_len)
        results["frame_indices"] = indices
        return results

    def read_decodable(self, reader, path: str, frames_len: int):
        """Sample and read; on failure sample again within the first half, down to one frame.

        A container's header can promise more frames than decode (seen: 444 vs 68). The first
        error is raised if nothing decodes. The dataset and ``predict.py`` report a clip sampled from
        part of its video (``readable_frames``).

        Returns:
            (frames uint8 [K, H, W, 3], indices int64 [K], length of the prefix sampled from).
        """
        length, first_error = frames_len, None
        while True:
            indices = self.sample_indices(length)
            try:
                frames = reader.read(indices)
            except DecodeError as err:
                first_error = first_error or err
                if length == 1:
                    raise first_error from None
                length //= 2
                continue
            return frames, indices, length


def readable_frames(results: Dict[str, Any]) -> Optional[Tuple[int, int]]:
    """``(readable, promised)`` frames of a sampled video when the clip came from part of it, else None.

    ``readable`` is the length of the prefix ``Sampler`` sampled from; ``promised`` the larger of the
    container header's count (``header_frames``, from ``VideoDecoder``) and the backend's count.
    """
    if "decodable_len" not in results:
        return None
    readable = int(results["decodable_len"])
    promised = max(int(results.get("header_frames", 0)), int(results["frames_len"]))
    return (readable, promised) if readable < SHORT_FRACTION * promised else None
