"""Which videos ``predict.py -i INPUT`` means: one file, every video under a directory, or a list file."""
import os
from typing import List, Optional

from ..errors import ConfigError
from ..utils.dataset_lists import VIDEO_EXTENSIONS, is_video, list_lines, split_fields

LIST_EXTENSIONS = (".txt", ".list", ".lst")


def videos_in_directory(directory: str) -> List[str]:
    """Every file with a video extension under ``directory`` (recursively), sorted by path."""
    found = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        found.extend(os.path.join(root, name) for name in sorted(files) if is_video(name))
    return found


def videos_in_list(list_file: str, data_prefix: Optional[str] = None) -> List[str]:
    """Paths of a list file: one video per line, optionally followed by an integer label (ignored).

    Lines are PaddleVideo/UCF101 style (``ApplyEyeMakeup/v_x.avi`` or ``path 12``); relative paths are
    joined to ``data_prefix`` (default: the list file's directory). Blank lines and ``#`` comments are
    skipped.
    """
    prefix = os.path.dirname(os.path.abspath(list_file)) if data_prefix is None else data_prefix
    paths = []
    for _, line in list_lines(list_file):
        parts = split_fields(line, 2)
        path = parts[0] if parts and parts[1].lstrip("-").isdigit() else line
        paths.append(path if os.path.isabs(path) else os.path.join(prefix, path))
    return paths


def collect_videos(input_path: str, data_prefix: Optional[str] = None, as_list: bool = False) -> List[str]:
    """Resolve ``-i``: a video file, a directory of videos, or a list file (``.txt``/``.list``/``.lst``,
    or any file when ``as_list``, PaddleVideo's ``--time_test_file``).

    Missing or unreadable videos listed in a list file are not checked here; they are reported per file
    when decoding fails.

    Raises:
        ConfigError: ``input_path`` does not exist, or yields no videos.
    """
    if os.path.isdir(input_path):
        videos = videos_in_directory(input_path)
    elif os.path.isfile(input_path):
        is_list = as_list or input_path.lower().endswith(LIST_EXTENSIONS)
        videos = videos_in_list(input_path, data_prefix) if is_list else [input_path]
    else:
        raise ConfigError(f"-i: no such file or directory: {input_path}")
    if not videos:
        raise ConfigError(f"-i {input_path}: no videos found (extensions: {', '.join(VIDEO_EXTENSIONS)})")
    return videos
