"""What every clip dataset shares: a PaddleVideo list file, a per-sample pipeline, and the handling
of samples that cannot be decoded.

Why the failure handling lives here: real datasets contain broken or truncated files, and one bad
file must cost neither a multi-hour run nor an evaluation -- but silently skipping would hide data
problems. So a sample that fails to decode is never fatal and never hidden:

* train (``test_mode`` False): the failure is recorded and another random sample takes its place
  (bounded retries), so batches keep their size;
* valid / test: the sample is returned as failed (no clip) and left out of the batch, so metrics are
  computed over the videos that were really scored.

Either way the failure (index and reason) travels with the batch to the main process (see
``loader/batch.py``), where the training loop and the evaluation log, count and report it. Decoding
happens in DataLoader worker processes, so this is the one channel that reaches the main process.
"""
import os
from typing import Any, Dict, List, NamedTuple, Optional, Tuple, Union

import numpy as np
import paddle

from paddlevideo.config.defaults import DEFAULTS
from paddlevideo.errors import ConfigError
from paddlevideo.loader.deadline import DeadlineReader, ReaderDied, ReadTimedOut
from paddlevideo.loader.errors import DecodeError
from paddlevideo.loader.pipelines import Compose
from paddlevideo.loader.pipelines.sample import readable_frames
from paddlevideo.utils.dataset_lists import list_lines
from paddlevideo.utils.logger import get_logger

logger = get_logger()


class ClipSample(NamedTuple):
    """One item of a clip dataset.

    ``imgs`` is the pipeline's float32 clip, or None when sample ``index`` failed (valid/test);
    ``failures`` lists ``(index, reason)`` of every sample that failed while producing this item;
    ``short`` is ``(readable, promised)`` frames when the clip came from part of its video only (its
    header promises more frames than were readable: ``readable_frames``), else None.
    """
    imgs: Optional[np.ndarray]
    label: int
    index: int
    failures: Tuple[Tuple[int, str], ...]
    short: Optional[Tuple[int, int]] = None


def parse_label(text: str, where: str, num_classes: Optional[int]) -> int:
    """An integer class label in ``[0, num_classes)``, or a ConfigError saying ``where``."""
    try:
        label = int(text)
    except ValueError as err:
        raise ConfigError(f"{where}: label {text!r} is not an integer") from err
    if label < 0 or (num_classes is not None and label >= num_classes):
        bound = f"[0, {num_classes})" if num_classes is not None else ">= 0"
        raise ConfigError(f"{where}: label {label} is outside {bound}")
    return label


def read_list_lines(file_path: str) -> List[Tuple[int, str]]:
    """The sample lines of a list file as ``(line number, text)`` (:func:`list_lines`).

    Raises:
        ConfigError: the file (config key ``file_path``) is missing or holds no samples.
    """
    try:
        lines = list_lines(file_path)
    except ConfigError as err:
        raise ConfigError(f"DATASET file_path: {err}") from err
    if not lines:
        raise ConfigError(f"DATASET file_path: list file '{file_path}' contains no samples")
    return lines


def check_count(value: Any, name: str, owner: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an int >= {minimum}, got {value!r}")




def check_read_timeout(value: Any, owner: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0):
        raise ValueError(f"{owner}: read_timeout must be seconds >= 0 (0 or null: no deadline), got {value!r}")


class ClipDataset(paddle.io.Dataset):
    """Samples listed in ``file_path``, each turned into a clip by ``pipeline``.

    Subclasses say how one list line becomes the pipeline's starting ``results`` dict
    (``parse_line``). ``samples[i]`` is that dict; it always holds ``filename`` (the video file or
    frame folder, used in every message) and ``label``.

    Args:
        file_path: the list file.
        pipeline: the ``PIPELINE.<mode>`` config section (an already built ``Compose`` is used as is).
        data_prefix: directory joined in front of every listed path.
        suffix: appended to every listed path.
        num_classes: if given, labels must lie in [0, num_classes).
        test_mode: failed samples are returned as failed instead of being replaced.
        num_retries: replacement samples tried after a failure in train mode; when all of them fail
            too, the sample comes back failed with every failure it met, and the main process counts
            them against ``DATASET.max_failure_ratio`` (``tasks/failures.py``). Raising here would
            reach the user, from a loader worker, as Paddle's "blocking queue is killed" traceback.
        read_timeout: seconds one sample's read (decoding and the pipeline) may take; a read that
            takes longer fails with "read timed out" and its reading process is replaced
            (``loader/deadline.py``). None or 0: read in the calling process, without a deadline.

    Raises:
        ConfigError: bad list file (file and line named) or pipeline config.
        ValueError: non-positive ``num_classes`` or negative ``num_retries``.
    """

    def __init__(self, file_path: str, pipeline: Union[dict, Compose], data_prefix: str = "",
                 suffix: str = "", num_classes: Optional[int] = None, test_mode: bool = False,
                 num_retries: int = 5, read_timeout: Optional[float] = DEFAULTS["DATASET.read_timeout"]):
        super().__init__()
        owner = type(self).__name__
        if num_classes is not None:
            check_count(num_classes, "num_classes", owner, 1)
        check_count(num_retries, "num_retries", owner, 0)
        check_read_timeout(read_timeout, owner)
        self.read_timeout = float(read_timeout) if read_timeout else None
        self._reader: Optional[DeadlineReader] = None
        self._reader_pid: Optional[int] = None
        self.file_path = file_path
        self.data_prefix, self.suffix = data_prefix, suffix
        self.num_classes = num_classes
        self.test_mode = bool(test_mode)
        self.num_retries = num_retries
        self.samples: List[Dict[str, Any]] = [
            self.parse_line(text, f"list file '{file_path}', line {n}: {text!r}")
            for n, text in read_list_lines(file_path)]
        self.pipeline = pipeline if isinstance(pipeline, Compose) else Compose(pipeline)
        self.sample_seed: Optional[Tuple[int, int]] = None

    def seed_samples(self, seed: int, epoch: int) -> None:
        """Make every random choice for sample ``i`` (augmentation, replacement) a function of
        (seed, epoch, i).

        Why per sample: then a clip does not depend on which worker process made it, how many workers
        there are, or whether the epoch was resumed half-way -- the condition for a resumed run to
        equal an uninterrupted one. Workers are started for each pass over the loader, so setting
        this before the pass reaches them.
        """
        self.sample_seed = (int(seed), int(epoch))

    def parse_line(self, line: str, where: str) -> Dict[str, Any]:
        """One list line -> the pipeline's starting ``results`` (``filename``, ``label``, ...)."""
        raise NotImplementedError

    def full_path(self, relative: str) -> str:
        return os.path.join(self.data_prefix, relative + self.suffix)

    def __len__(self) -> int:
        return len(self.samples)

    def path(self, idx: int) -> str:
        """The file or folder of sample ``idx``, as used in messages."""
        return self.samples[idx]["filename"]

    def label(self, idx: int) -> int:
        return self.samples[idx]["label"]

    def load(self, idx: int) -> Tuple[np.ndarray, Optional[Tuple[int, int]]]:
        """Run the pipeline on sample ``idx``: its float32 clip and :func:`readable_frames`.
        DecodeError propagates."""
        results = self.pipeline.transform(self.read_frames(idx))
        return np.asarray(results["imgs"], dtype=np.float32), readable_frames(results)

    def read_frames(self, idx: int) -> Dict[str, Any]:
        """The pipeline's decode and sample stages on sample ``idx`` -- the part that reads files --
        within ``read_timeout`` when one is set.

        Only the reading runs in the reader process: its uint8 frames cross the process boundary, a
        third of the bytes of the float32 clip the transforms make of them.

        Raises:
            DecodeError: the sample cannot be decoded, its read timed out or its reader died.
            StopReading: the run is stopping (``loader/deadline.py``).
        """
        if self.read_timeout is None:
            return self.pipeline.read(dict(self.samples[idx]))
        if self._reader_pid != os.getpid():  # first read in this process (a fork has its own reader)
            self._reader, self._reader_pid = DeadlineReader(self._read_with_rng), os.getpid()
        try:
            results, rng_state = self._reader.call((idx, np.random.get_state()), self.read_timeout)
        except ReadTimedOut:
            raise DecodeError(self.path(idx), f"read timed out after {self.read_timeout:g} s "
                                              f"(DATASET.read_timeout)") from None
        except ReaderDied:
            raise DecodeError(self.path(idx), "the process reading it died (a crash in the decoder)") from None
        np.random.set_state(rng_state)
        return results

    def _read_with_rng(self, idx: int, rng_state: Tuple) -> Tuple[Dict[str, Any], Tuple]:
        """The pipeline's read in the reader process, drawing from the caller's numpy RNG state and
        returning the state it leaves, so a clip is the same whichever process reads it."""
        np.random.set_state(rng_state)
        return self.pipeline.read(dict(self.samples[idx])), np.random.get_state()

    def __getstate__(self) -> Dict[str, Any]:
        """Without the reader process, which belongs to the process that started it."""
        return {**self.__dict__, "_reader": None, "_reader_pid": None}

    def _other_index(self, idx: int) -> int:
        """A uniformly random index other than ``idx`` (``idx`` itself if it is the only one)."""
        if len(self.samples) == 1:
            return idx
        other = int(np.random.randint(0, len(self.samples) - 1))
        return other + 1 if other >= idx else other

    def __getitem__(self, idx: int) -> ClipSample:
        """Sample ``idx`` (or its replacement in train mode) with the failures met on the way; a failed
        sample (``imgs`` None) in test mode, or in train mode after ``num_retries`` failed replacements."""
        if self.sample_seed is not None:
            np.random.seed(np.random.SeedSequence((*self.sample_seed, idx)).generate_state(1)[0])
        failures, current = [], idx
        while True:
            try:
                imgs, short = self.load(current)
                return ClipSample(imgs, self.label(current), current, tuple(failures), short)
            except DecodeError as err:
                failures.append((current, err.reason or str(err)))
            if self.test_mode or len(failures) > self.num_retries:
                return ClipSample(None, self.label(idx), idx, tuple(failures))
            current = self._other_index(current)
