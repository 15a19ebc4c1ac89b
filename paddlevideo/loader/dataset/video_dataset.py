"""Video classification dataset: a PaddleVideo list file plus a per-sample pipeline.

Why the failure handling: real datasets contain a few broken or truncated videos, and one bad
file must not kill a multi-hour training run -- but silently skipping would hide data problems.
So in training a video that fails to decode is logged, counted and replaced by another random
sample (bounded retries), and the count is kept in shared memory so the training loop in the
main process can report it even though decoding happens in DataLoader worker processes. In test
mode nothing is substituted: metrics must be computed on exactly the listed videos.
"""
import logging
import multiprocessing
import os
from typing import List, Optional, Tuple, Union

import numpy as np
import paddle

from paddlevideo.loader.errors import DecodeError
from paddlevideo.loader.pipelines import Compose
from paddlevideo.registry import DATASETS, ConfigError

logger = logging.getLogger("paddlevideo")


def _parse_line(line: str, lineno: int, file_path: str,
                num_classes: Optional[int]) -> Tuple[str, int]:
    """``relative/path.ext label`` -> (path, label); the label is after the LAST whitespace."""
    where = f"list file '{file_path}', line {lineno}"
    parts = line.rsplit(None, 1)
    if len(parts) != 2:
        raise ConfigError(f"{where}: expected '<relative/path> <label>', got {line!r}")
    path, label_text = parts
    try:
        label = int(label_text)
    except ValueError as err:
        raise ConfigError(f"{where}: label {label_text!r} is not an integer in {line!r}") from err
    if label < 0 or (num_classes is not None and label >= num_classes):
        bound = f"[0, {num_classes})" if num_classes is not None else ">= 0"
        raise ConfigError(f"{where}: label {label} is outside {bound} in {line!r}")
    return path, label


def read_list_file(file_path: str, data_prefix: str = "", suffix: str = "",
                   num_classes: Optional[int] = None) -> List[Tuple[str, int]]:
    """Parse a PaddleVideo list file into (full path, label) pairs; blank lines are skipped.

    Raises:
        ConfigError: missing file (config key ``file_path``), malformed line or bad label (with
            file and line number), or no samples at all.
    """
    if not os.path.isfile(file_path):
        raise ConfigError(f"DATASET file_path: list file '{file_path}' does not exist")
    info = []
    with open(file_path, encoding="utf-8") as handle:
        for lineno, raw in enumerate(handle, start=1):
            line = raw.strip()
            if line:
                path, label = _parse_line(line, lineno, file_path, num_classes)
                info.append((os.path.join(data_prefix, path + suffix), label))
    if not info:
        raise ConfigError(f"DATASET file_path: list file '{file_path}' contains no samples")
    return info


@DATASETS.register()
class VideoDataset(paddle.io.Dataset):
    """Videos listed in ``file_path``, each turned into a clip by ``pipeline``.

    ``__getitem__`` returns ``(imgs, label)``: the pipeline's float32 ``imgs`` (e.g. [3, T, H, W]
    with ``Image2Array(cthw)``) and an int64 0-d array. ``info`` lists (full path, label).

    Failure handling: in train mode (``test_mode`` False) a ``DecodeError`` is logged on the
    ``paddlevideo`` logger, counted in ``num_failures`` (a ``multiprocessing.Value`` shared with
    forked DataLoader workers) and the sample replaced by a random other one; after
    ``num_retries`` replacements in a row also fail a RuntimeError is raised. In test mode the
    DecodeError propagates. Other exceptions are never caught.

    Args:
        file_path: list file, one ``relative/path.ext label`` per line; the path may contain
            spaces (the label is the last whitespace-separated field).
        pipeline: the ``PIPELINE.<mode>`` config section, built with ``Compose`` (an already
            built ``Compose`` is used as is).
        data_prefix: directory joined in front of every listed path.
        suffix: appended to every listed path (e.g. ``'.avi'`` when the list omits it).
        num_classes: if given, labels must lie in [0, num_classes).
        test_mode: raise on decode failures instead of substituting samples.
        num_retries: how many replacement samples to try after a failure (train mode).

    Raises:
        ConfigError: bad list file or pipeline config (see ``read_list_file`` and ``Compose``).
        ValueError: non-positive ``num_classes`` or negative ``num_retries``.
    """

    def __init__(self, file_path: str, pipeline: Union[dict, Compose], data_prefix: str = "",
                 suffix: str = "", num_classes: Optional[int] = None, test_mode: bool = False,
                 num_retries: int = 5):
        super().__init__()
        if num_classes is not None and (isinstance(num_classes, bool)
                                        or not isinstance(num_classes, int) or num_classes < 1):
            raise ValueError(f"VideoDataset: num_classes must be a positive int, "
                             f"got {num_classes!r}")
        if isinstance(num_retries, bool) or not isinstance(num_retries, int) or num_retries < 0:
            raise ValueError(f"VideoDataset: num_retries must be an int >= 0, got {num_retries!r}")
        self.file_path = file_path
        self.test_mode = bool(test_mode)
        self.num_retries = num_retries
        self.num_classes = num_classes
        self.info: List[Tuple[str, int]] = read_list_file(file_path, data_prefix, suffix,
                                                          num_classes)
        self.pipeline = pipeline if isinstance(pipeline, Compose) else Compose(pipeline)
        self._failures = multiprocessing.Value("i", 0)

    def __len__(self) -> int:
        return len(self.info)

    @property
    def num_failures(self) -> int:
        """Decode failures so far, summed over this process and all forked workers."""
        return self._failures.value

    def reset_failures(self) -> None:
        """Set the shared failure count back to 0 (e.g. at the start of an epoch)."""
        with self._failures.get_lock():
            self._failures.value = 0

    def load(self, idx: int) -> Tuple[np.ndarray, np.ndarray]:
        """Run the pipeline on sample ``idx``; DecodeError propagates."""
        path, label = self.info[idx]
        results = self.pipeline({"filename": path, "label": label})
        imgs = np.asarray(results["imgs"], dtype=np.float32)
        return imgs, np.array(label, dtype="int64")

    def _other_index(self, idx: int) -> int:
        """A uniformly random index other than ``idx`` (``idx`` itself if it is the only one)."""
        if len(self.info) == 1:
            return idx
        other = int(np.random.randint(0, len(self.info) - 1))
        return other + 1 if other >= idx else other

    def __getitem__(self, idx: int) -> Tuple[np.ndarray, np.ndarray]:
        """Sample ``idx`` as (float32 imgs, int64 label), substituting unreadable videos in train.

        Raises:
            DecodeError: test mode and the video cannot be decoded.
            RuntimeError: train mode and ``num_retries + 1`` samples in a row failed to decode.
        """
        if self.test_mode:
            return self.load(idx)
        current, last_error = idx, None
        for attempt in range(1, self.num_retries + 2):
            try:
                return self.load(current)
            except DecodeError as err:
                last_error = err
                with self._failures.get_lock():
                    self._failures.value += 1
                logger.warning("Unreadable video %s (%s); %d consecutive failure(s), %s",
                               self.info[current][0], err.reason, attempt,
                               "giving up" if attempt > self.num_retries else "substituting a "
                               "random other sample")
                current = self._other_index(current)
        raise RuntimeError(f"{self.num_retries + 1} consecutive samples failed to decode, starting "
                           f"from sample {idx} ({self.info[idx][0]}); last error: {last_error}")
