"""PaddleVideo list files and raw-frame folders, shared by ``tools/build_file_list.py`` and
``tools/extract_frames.py``.

Two list formats, one sample per line, labels 0-based, fields separated by one space:

* videos: ``<relative/video/path.ext> <label>``;
* raw frames: ``<relative/frame_dir> <num_frames> <label>``, where ``frame_dir`` is the video's
  relative path without its extension and holds ``img_00001.jpg`` ... ``img_<num_frames>.jpg``.

Paths may contain spaces (Kinetics class folders do): readers take the label (and the frame count)
from the last whitespace-separated fields. Free of Paddle and decord imports so the tools start fast.
"""
import os
import re
from typing import Iterable, List, Sequence, Tuple

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


def read_video_list(path: str) -> List[Tuple[str, int]]:
    """``(relative video path, label)`` per non-blank line of a video list file.

    Raises:
        ValueError: a line without an integer label (file and line named).
    """
    entries = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            parts = line.strip().rsplit(None, 1)
            if not parts:
                continue
            if len(parts) != 2 or not parts[1].isdigit():
                raise ValueError(f"{path} line {lineno}: expected '<relative/path> <label>', "
                                 f"got {line.strip()!r}")
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
