"""PaddleVideo list files and raw-frame folders, shared by ``tools/build_file_list.py`` and
``tools/extract_frames.py``.

Two list formats, one sample per line, labels 0-based, fields separated by one space:

* videos: ``<relative/video/path.ext> <label>``;
* raw frames: ``<relative/frame_dir> <num_frames> <label>``, where ``frame_dir`` is the video's
  relative path without its extension and holds ``img_00001.jpg`` ... ``img_<num_frames>.jpg``.

Paths may contain spaces (Kinetics class folders do): readers take the label (and the frame count)
from the last whitespace-separated fields. Blank lines and lines starting with ``#`` are skipped.

The one reader of list files: the datasets, ``predict.py -i LIST`` and the prep tools all go through
:func:`list_lines` and :func:`split_fields`. Free of Paddle and decord imports so the tools start fast.
"""
import os
import re
from typing import Iterable, List, Optional, Sequence, Tuple

from ..errors import ConfigError
from .atomic import write_text_atomic

VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".webm", ".mov", ".flv", ".mpg", ".mpeg", ".m4v", ".wmv", ".3gp",
                    ".ts")
FRAME_TEMPLATE = "img_{:05}.jpg"
_FRAME_NAME = re.compile(r"img_(\d{5,})\.jpg")


class FrameFolderError(ValueError):
    """A frame folder whose files are not numbered ``1..N`` without gaps."""


def is_video(name: str) -> bool:
    return name.lower().endswith(VIDEO_EXTENSIONS)


def frame_dir_of(video_path: str) -> str:
    """The raw-frame folder of a video: its path without the extension."""
    return os.path.splitext(video_path)[0]


def count_frames(frame_dir: str) -> int:
    """The number of frames ``img_00001.jpg`` ... ``img_N.jpg`` in ``frame_dir``.

    Returns:
        N, or 0 when the folder does not exist or holds no frame file.

    Raises:
        FrameFolderError: the numbering does not run from 1 to N without gaps (the dataset would
            fail on the missing files).
    """
    try:
        with os.scandir(frame_dir) as entries:
            numbers = [int(m.group(1)) for m in map(_FRAME_NAME.fullmatch, (e.name for e in entries))
                       if m]
    except (FileNotFoundError, NotADirectoryError):
        return 0
    if numbers and (min(numbers) != 1 or max(numbers) != len(numbers)):
        raise FrameFolderError(f"{len(numbers)} frame files numbered {min(numbers)}..{max(numbers)}, "
                               f"expected 1..{len(numbers)}")
    return len(numbers)


def list_lines(path: str) -> List[Tuple[int, str]]:
    """``(line number, stripped text)`` of every sample line of a list file (blank and ``#`` lines skipped).

    Raises:
        ConfigError: the file does not exist.
    """
    if not os.path.isfile(path):
        raise ConfigError(f"list file '{path}' does not exist")
    with open(path, encoding="utf-8") as handle:
        stripped = ((n, raw.strip()) for n, raw in enumerate(handle, start=1))
        return [(n, text) for n, text in stripped if text and not text.startswith("#")]


def split_fields(text: str, num_fields: int) -> Optional[List[str]]:
    """A sample line split into ``num_fields`` fields, the first being the path (which may hold spaces);
    None when the line has fewer fields."""
    parts = text.rsplit(None, num_fields - 1)
    return parts if len(parts) == num_fields else None


def read_video_list(path: str) -> List[Tuple[str, int]]:
    """``(relative video path, label)`` per sample line of a video list file.

    Raises:
        ConfigError: the file is missing, or a line has no integer label (file and line named).
    """
    entries = []
    for lineno, text in list_lines(path):
        parts = split_fields(text, 2)
        if parts is None or not parts[1].isdigit():
            raise ConfigError(f"{path} line {lineno}: expected '<relative/path> <label>', got {text!r}")
        entries.append((parts[0], int(parts[1])))
    return entries


def write_video_list(path: str, entries: Iterable[Tuple[str, int]]) -> int:
    """Write ``path label`` lines atomically; returns the number of lines."""
    lines = [f"{video} {label}\n" for video, label in entries]
    write_text_atomic(path, "".join(lines))
    return len(lines)


def write_frames_list(path: str, entries: Iterable[Tuple[str, int, int]]) -> int:
    """Write ``frame_dir num_frames label`` lines atomically; returns the number of lines."""
    lines = [f"{frame_dir} {num} {label}\n" for frame_dir, num, label in entries]
    write_text_atomic(path, "".join(lines))
    return len(lines)


def name_some(names: Sequence[str], limit: int = 20) -> str:
    """``'a', 'b', ... and N more`` -- at most ``limit`` names, so huge reports stay readable."""
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown if len(names) <= limit else f"{shown} ... and {len(names) - limit} more"
