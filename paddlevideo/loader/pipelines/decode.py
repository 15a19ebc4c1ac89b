"""Open a video without decoding it, so that the sampler decodes only the frames it picks.

Why lazily: UCF101/Kinetics clips hold hundreds of frames but a TokShift clip uses 8; decoding
the whole file per sample wastes most of the data-loading time and RAM. Opening only parses the
container; ``Sampler`` later asks the reader for exactly the chosen frame indices.

The reader contract (shared by every source of frames -- video files, raw-frame folders):
``len(reader)`` is the number of frames the source claims to have, and
``reader.read(indices)`` returns uint8 RGB frames ``[K, H, W, 3]`` in the order of ``indices``
(repeats allowed) or raises ``DecodeError`` naming the file. A video reader also has
``header_frames``, the count its container's header promises, which can exceed ``len``: an .avi cut
short during a download loses its index, and decord then counts the frames that are there (1 of 259
in the first 20 kB of a UCF101 clip) while the header still says 259. The dataset and ``predict.py``
compare the two to say that a clip came from part of a video (``Sampler`` and ``readable_frames``).

The default backend (``decord``) uses two libraries, because neither reads every file: decord
first (one batched, seeking read); OpenCV (``cv2.VideoCapture`` on FFmpeg) when decord cannot open
a file or fails a read. Seen with decord 0.6: it opens but cannot decode 48-pixel-wide videos
(MJPG, xvid and mp4v alike); it fails every read of an .avi whose later frames are corrupt, even
of the frames before them; and in truncated files it fails reads of decodable frames at random,
differently from run to run. OpenCV reads the decodable frames of all of these, the same ones
every time. A file neither backend reads raises ``DecodeError`` naming both errors; a missing or
empty file raises before any backend is tried.

PaddleVideo's other two backends are kept: ``cv2`` (OpenCV alone) and ``pyav`` (PyAV, an
optional package imported only when that backend is chosen; on the files tried -- MJPG, xvid and
mp4v test videos, UCF101 clips -- it decodes the same RGB values as decord, so without PyAV a
``pyav`` config is read with decord).
"""
import functools
import os
from typing import Any, Callable, Dict, List, Optional, Union

import cv2
import decord
import numpy as np

from paddlevideo.loader.errors import DecodeError
from paddlevideo.registry import PIPELINES

from ...utils.logger import get_logger
from .compose import check_positive_int, require_keys

logger = get_logger()

# decord raises DECORDError for codec/filter failures and RuntimeError for unopenable files.
DECORD_ERRORS = (decord.DECORDError, RuntimeError, OSError)

# OpenCV skips gaps up to this many frames with grab() and seeks over longer ones (see
# OpenCVVideoReader for the measurements behind the number).
OPENCV_MAX_GRAB_GAP = 64


def _describe(err: BaseException) -> str:
    """``'Type: message'`` of a backend exception, cut to one readable length."""
    return f"{type(err).__name__}: {str(err).strip()[:300]}"


def read_unique(read_sorted, indices: np.ndarray, path: str) -> np.ndarray:
    """Read each distinct frame once, in increasing order, then restore the requested order.

    Args:
        read_sorted: ``f(sorted unique list of int) -> uint8 [U, H, W, 3]``.
        indices: int array [K] of frame numbers (any order, repeats allowed).
        path: the source, for error messages.

    Returns:
        uint8 array [K, H, W, 3].

    Raises:
        DecodeError: ``read_sorted`` returned the wrong number of frames.
    """
    unique, inverse = np.unique(indices, return_inverse=True)
    frames = read_sorted(unique.tolist())
    if frames.ndim != 4 or frames.shape[0] != unique.size:
        raise DecodeError(path, f"reading frames {unique.tolist()} returned shape {frames.shape}")
    if unique.size == indices.size and np.array_equal(unique, indices):
        return frames
    return frames[inverse.reshape(-1)]


def stack_frames(path: str, indices: List[int], frames: List[np.ndarray]) -> np.ndarray:
    """Frames read one by one as one array; DecodeError if their sizes differ (a broken stream)."""
    shapes = {f.shape for f in frames}
    if len(shapes) > 1:
        raise DecodeError(path, f"frames {indices} have different sizes {sorted(shapes)}")
    return np.stack(frames)


class DecordVideoReader:
    """A video file read with one-thread decord; frames are decoded only in ``read``.

    One thread because the DataLoader already runs several workers per core; decord's default
    (``num_threads=0``) starts one decoder thread per CPU in every worker. decord's decoder can
    stay broken after a failed read, so the next ``read`` after a failure reopens the file.

    Raises:
        DecodeError: the file cannot be opened (at construction).
    """

    def __init__(self, path: str):
        self.path = path
        self._reader = self._open()
        self._frames_len = len(self._reader)  # kept: the reader is dropped after a failed read

    def _open(self) -> "decord.VideoReader":
        try:
            return decord.VideoReader(self.path, num_threads=1)
        except DECORD_ERRORS as err:
            raise DecodeError(self.path, f"decord could not open it ({_describe(err)})") from err

    def __len__(self) -> int:
        return self._frames_len

    def _get_batch(self, unique):
        if self._reader is None:
            self._reader = self._open()
        try:
            return self._reader.get_batch(unique).asnumpy()
        except (*DECORD_ERRORS, IndexError) as err:
            self._reader = None
            raise DecodeError(self.path, f"decord failed reading frames {unique} "
                                         f"({_describe(err)}); the header frame count may "
                                         f"exceed the decodable frames") from err

    def read(self, indices: np.ndarray) -> np.ndarray:
        """uint8 RGB frames [K, H, W, 3] for ``indices``; DecodeError if any cannot be decoded."""
        return read_unique(self._get_batch, np.asarray(indices), self.path)


def _to_rgb(frame: np.ndarray) -> np.ndarray:
    """OpenCV's BGR (or grey / BGRA, which some FFmpeg pixel formats yield) -> RGB [H, W, 3]."""
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


class OpenCVVideoReader:
    """A video file read with OpenCV's FFmpeg backend (one thread); frames decode in ``read``.

    Only the requested frames are converted to RGB; the frames in between are skipped with
    ``grab()`` (demux and decode, no colour conversion) when the gap is at most
    ``OPENCV_MAX_GRAB_GAP``, else with a seek (``CAP_PROP_POS_FRAMES``, which decodes forward from
    the keyframe before the target). Why both: on a long video with frequent keyframes (MJPG, or
    xvid/mp4v with a keyframe every few frames) a seek decodes only from the nearest keyframe, so it
    beats grabbing every frame across a long gap; but short clips with a single keyframe, like the
    UCF101 clips in ``data/example`` (MPEG-4 part 2 .avi), decode again from the first frame at every
    seek, so there grabbing is faster. Both gave the exact frames on every file tried, truncated ones
    included. A failed read leaves the position
    unknown, so the next read seeks.

    Raises:
        DecodeError: OpenCV cannot open the file (at construction).
    """

    def __init__(self, path: str):
        self.path = path
        try:
            self._cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
        except cv2.error as err:
            raise DecodeError(path, f"OpenCV (FFmpeg) could not open it "
                                    f"({_describe(err)})") from err
        if not self._cap.isOpened():
            raise DecodeError(path, "OpenCV (FFmpeg) could not open it")
        count = self._cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self._frames_len = int(count) if count > 0 else 0  # also maps NaN to 0
        self._next: Optional[int] = 0  # the frame grab()/read() returns next; None = unknown

    def __len__(self) -> int:
        return self._frames_len

    @property
    def header_frames(self) -> int:
        """OpenCV's count is the header's (see the module docstring)."""
        return self._frames_len

    def _move_to(self, index: int) -> bool:
        """Position the capture so that the next ``read()`` returns frame ``index``."""
        gap = -1 if self._next is None else index - self._next
        if gap < 0 or gap > OPENCV_MAX_GRAB_GAP:
            return bool(self._cap.set(cv2.CAP_PROP_POS_FRAMES, index))
        return all(self._cap.grab() for _ in range(gap))

    def _read_frame(self, index: int) -> np.ndarray:
        moved = self._move_to(index)
        self._next = None  # unknown until the read succeeds
        ok, frame = self._cap.read() if moved else (False, None)
        if not ok or frame is None:
            raise DecodeError(self.path, f"OpenCV could not decode frame {index} (the header "
                                         f"lists {self._frames_len} frames)")
        self._next = index + 1
        return _to_rgb(frame)

    def _read_sorted(self, unique: List[int]) -> np.ndarray:
        try:
            frames = [self._read_frame(i) for i in unique]
        except cv2.error as err:
            self._next = None
            raise DecodeError(self.path, f"OpenCV failed reading frames {unique} "
                                         f"({_describe(err)})") from err
        return stack_frames(self.path, unique, frames)

    def read(self, indices: np.ndarray) -> np.ndarray:
        """uint8 RGB frames [K, H, W, 3] for ``indices``; DecodeError if any cannot be decoded."""
        return read_unique(self._read_sorted, np.asarray(indices), self.path)


def both_failed(path: str, decord_error: DecodeError, opencv_error: DecodeError) -> DecodeError:
    """One DecodeError carrying both backends' reasons, so the log shows why each gave up."""
    return DecodeError(path, f"decord and OpenCV both failed: {decord_error.reason}; "
                             f"{opencv_error.reason}")


class FallbackVideoReader:
    """decord, with OpenCV as a second try for each read decord fails.

    Why per read rather than switching for good: decord's failures on truncated files vary from
    run to run, and OpenCV only helps with the frames it can decode itself; trying both on each
    read returns the frames whichever backend can give. ``len`` is decord's frame count, the one
    the sampler samples from; ``header_frames`` is the larger of that and OpenCV's, which reads the
    container's header (OpenCV is opened at once for it: it parses only the header).

    Args:
        path: the video file.
        primary: its opened decord reader.
    """

    def __init__(self, path: str, primary: DecordVideoReader):
        self.path = path
        self._decord = primary
        self._opencv: Optional[OpenCVVideoReader] = None
        self._opencv_error: Optional[DecodeError] = None
        opencv = self._open_opencv()
        self.header_frames = max(len(primary), opencv.header_frames if opencv else 0)

    def __len__(self) -> int:
        return len(self._decord)

    def _open_opencv(self) -> Optional[OpenCVVideoReader]:
        if self._opencv is None and self._opencv_error is None:
            try:
                self._opencv = OpenCVVideoReader(self.path)
            except DecodeError as err:
                self._opencv_error = err
        return self._opencv

    def read(self, indices: np.ndarray) -> np.ndarray:
        """uint8 RGB frames [K, H, W, 3]; DecodeError with both reasons if both backends fail."""
        try:
            return self._decord.read(indices)
        except DecodeError as decord_error:
            return self._read_with_opencv(indices, decord_error)

    def _read_with_opencv(self, indices: np.ndarray, decord_error: DecodeError) -> np.ndarray:
        opencv = self._open_opencv()
        if opencv is None:
            raise both_failed(self.path, decord_error, self._opencv_error) from decord_error
        try:
            frames = opencv.read(indices)
        except DecodeError as opencv_error:
            raise both_failed(self.path, decord_error, opencv_error) from opencv_error
        logger.debug("%s: read with OpenCV after decord failed (%s)", self.path,
                     decord_error.reason)
        return frames


def check_video_file(path: str) -> None:
    """DecodeError with a plain reason for a path that cannot be a video (no backend is tried:
    their messages for a missing or empty file are cryptic)."""
    if not os.path.exists(path):
        raise DecodeError(path, "file does not exist")
    if not os.path.isfile(path):
        raise DecodeError(path, "not a regular file")
    if os.path.getsize(path) == 0:
        raise DecodeError(path, "the file is empty (0 bytes)")


def open_video(path: str) -> Union[FallbackVideoReader, OpenCVVideoReader]:
    """A reader for the video file ``path``: decord, falling back to OpenCV (module docstring).

    Returns:
        ``FallbackVideoReader`` if decord opens the file, else ``OpenCVVideoReader``.

    Raises:
        DecodeError: the file is missing or empty, or neither backend can open it.
    """
    check_video_file(path)
    try:
        return FallbackVideoReader(path, DecordVideoReader(path))
    except DecodeError as decord_error:
        try:
            return OpenCVVideoReader(path)
        except DecodeError as opencv_error:
            raise both_failed(path, decord_error, opencv_error) from opencv_error


def import_pyav():
    """The ``av`` module, or None when PyAV is not installed.

    PyAV is optional (not in requirements.txt): PaddleVideo's configs ask for ``backend: pyav``, and
    without PyAV ``VideoDecoder`` reads those files with decord and OpenCV instead, which give the same
    frames (``PyAVVideoReader``).
    """
    try:
        import av
    except ImportError:
        return None
    return av


@functools.lru_cache(maxsize=None)
def log_pyav_fallback() -> None:
    """Say once per process that ``backend: pyav`` reads with decord (PyAV is not installed)."""
    logger.info("VideoDecoder backend 'pyav': PyAV is not installed, so videos are read with decord and "
                "OpenCV, which decode the same frames (pip install av to use PyAV itself)")


class PyAVVideoReader:
    """A video file read with PyAV (FFmpeg's decoders, one thread); frames decode only in ``read``.

    PyAV has no frame-exact random access, so a read decodes forward from the first frame up to
    the last requested one and converts only the requested frames to RGB. ``len`` is the
    stream's frame count, or its number of video packets when the container does not store one.

    Raises:
        DecodeError: the file cannot be opened or has no video stream (at construction).
    """

    def __init__(self, path: str):
        self._av = import_pyav()
        if self._av is None:
            raise ValueError("PyAVVideoReader needs PyAV: pip install av")
        self.path = path
        self._errors = (self._av.FFmpegError, OSError)
        try:
            with self._av.open(path) as container:
                stream = self._video_stream(container)
                self._frames_len = stream.frames or sum(1 for p in container.demux(stream) if p.size)
        except self._errors as err:
            raise DecodeError(path, f"PyAV could not open it ({_describe(err)})") from err

    def _video_stream(self, container):
        if not container.streams.video:
            raise DecodeError(self.path, "PyAV found no video stream")
        stream = container.streams.video[0]
        stream.thread_count = 1  # as decord: the DataLoader workers already use the cores
        return stream

    def __len__(self) -> int:
        return self._frames_len

    @property
    def header_frames(self) -> int:
        return self._frames_len

    def _decode_sorted(self, unique: List[int]) -> List[np.ndarray]:
        wanted, frames, decoded = set(unique), [], 0
        with self._av.open(self.path) as container:
            for frame in container.decode(self._video_stream(container)):
                if decoded in wanted:
                    frames.append(frame.to_ndarray(format="rgb24"))
                decoded += 1
                if decoded > unique[-1]:
                    break
        if len(frames) != len(unique):
            raise DecodeError(self.path, f"PyAV decoded only {decoded} frames, fewer than the "
                                         f"frames {unique} asked for (the header lists "
                                         f"{self._frames_len})")
        return frames

    def _read_sorted(self, unique: List[int]) -> np.ndarray:
        try:
            frames = self._decode_sorted(unique)
        except self._errors as err:
            raise DecodeError(self.path, f"PyAV failed reading frames {unique} "
                                         f"({_describe(err)})") from err
        return stack_frames(self.path, unique, frames)

    def read(self, indices: np.ndarray) -> np.ndarray:
        """uint8 RGB frames [K, H, W, 3] for ``indices``; DecodeError if any cannot be decoded."""
        return read_unique(self._read_sorted, np.asarray(indices), self.path)


def open_opencv(path: str) -> OpenCVVideoReader:
    """An OpenCV reader for ``path`` (PaddleVideo's ``cv2`` backend), after ``check_video_file``."""
    check_video_file(path)
    return OpenCVVideoReader(path)


def open_pyav(path: str) -> PyAVVideoReader:
    """A PyAV reader for ``path`` (PaddleVideo's ``pyav`` backend), after ``check_video_file``."""
    check_video_file(path)
    return PyAVVideoReader(path)


VIDEO_BACKENDS: Dict[str, Callable[[str], Any]] = {
    "decord": open_video, "cv2": open_opencv, "pyav": open_pyav}


@PIPELINES.register()
class VideoDecoder:
    """Opens ``results['filename']`` as a frame reader (nothing decoded yet).

    Requires: ``filename``.
    Adds: ``reader`` (see the module docstring; consumed and removed by ``Sampler``),
    ``frames_len`` (the frame count of the backend that opened the file -- with ``decord``,
    decord's, else OpenCV's -- which may exceed what actually decodes) and ``header_frames`` (what
    the container's header promises, >= ``frames_len``).

    Args:
        backend: ``'decord'`` (default): decord with OpenCV as its fallback (see ``open_video``);
            ``'cv2'``: OpenCV alone; ``'pyav'``: PyAV (``PyAVVideoReader``) when it is installed,
            else ``'decord'``, said once in the log. All three give the frames ``Sampler`` picks: PaddleVideo's
            ``pyav`` decoder also cut a TimeSformer time window out of the video (``mode``,
            ``sampling_rate``, ``target_fps``); here that window is ``Sampler(linspace_window)``,
            which a PaddleVideo config gets filled in (``config/paddlevideo_compat.py``).
        num_seg: PaddleVideo's frames-per-clip key, kept for its configs: ``check_config``
            requires it to equal the model's ``num_seg``; the frames read are chosen by ``Sampler``.

    Raises:
        ValueError: unknown backend (at construction).
        DecodeError: the file is missing, unreadable or reports no frames (at call time).
    """

    def __init__(self, backend: str = "decord", num_seg: Optional[int] = None):
        if backend not in VIDEO_BACKENDS:
            raise ValueError(f"VideoDecoder: backend must be one of {list(VIDEO_BACKENDS)}, "
                             f"got {backend!r}")
        if backend == "pyav" and import_pyav() is None:
            log_pyav_fallback()
            backend = "decord"
        if num_seg is not None:
            check_positive_int(num_seg, "num_seg", "VideoDecoder")
        self.backend = backend
        self.num_seg = num_seg
        self._open = VIDEO_BACKENDS[backend]

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("filename",), "VideoDecoder")
        path = results["filename"]
        reader = self._open(path)
        frames_len = len(reader)
        if frames_len < 1:
            raise DecodeError(path, "the container reports 0 frames")
        results["reader"] = reader
        results["frames_len"] = frames_len
        results["header_frames"] = max(reader.header_frames, frames_len)
        return results
