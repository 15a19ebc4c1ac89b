"""Class-name files for prediction output, in the three layouts found in the wild.

* UCF101 ``classInd.txt``: ``1 ApplyEyeMakeup`` -- indices start at 1;
* ``<idx> <name>`` lists (PaddleVideo's ``kinetics400_label_list.txt``): indices start at 0;
* one name per line (Kinetics-400 ``labels.txt``): the line number (from 0) is the class id.

An index may be separated from the name by whitespace or a comma, and an ``id,name`` style header
line is skipped. The layout is detected from the whole file, never line by line, so a name that
happens to start with a digit cannot silently shift every class by one.
"""
import os
import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

from ..errors import ConfigError

_INDEXED = re.compile(r"^\s*(\d+)\s*[\s,]\s*(\S.*?)\s*$")

ONE_BASED = "1-based '<idx> <name>' (UCF101 classInd)"
ZERO_BASED = "0-based '<idx> <name>'"
NAME_PER_LINE = "one name per line"


@dataclass
class LabelMap:
    """Class names indexed by 0-based class id.

    Attributes:
        names: ``names[k]`` is the name of class ``k``.
        layout: which file layout was detected (for messages).
        path: the file it was read from.
    """

    names: List[str]
    layout: str
    path: str = ""

    def __len__(self) -> int:
        return len(self.names)

    def name(self, class_id: int) -> Optional[str]:
        """Name of ``class_id``, or None when the file has no entry for it."""
        return self.names[class_id] if 0 <= class_id < len(self.names) else None


def _indexed_entries(lines: List[str]) -> Optional[List[Tuple[int, str]]]:
    """``(index, name)`` for every line if all lines are indexed (after an optional header)."""
    entries = [_INDEXED.match(line) for line in lines]
    if entries and entries[0] is None and len(entries) > 1 and all(entries[1:]):
        entries = entries[1:]  # a header such as "id,name"
    if not entries or not all(entries):
        return None
    return [(int(m.group(1)), m.group(2)) for m in entries]


def parse_labels(text: str, path: str = "<text>") -> LabelMap:
    """Parse the contents of a label file (see the module docstring for the layouts).

    Raises:
        ConfigError: empty file, or indices that are neither ``0..N-1`` nor ``1..N`` (duplicates or
            gaps), with the offending values.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise ConfigError(f"label file {path} is empty")
    entries = _indexed_entries(lines)
    if entries is None:
        return LabelMap(lines, NAME_PER_LINE, path)
    indices = [idx for idx, _ in entries]
    base = min(indices)
    if base not in (0, 1) or sorted(indices) != list(range(base, base + len(indices))):
        dupes = sorted({i for i in indices if indices.count(i) > 1})
        raise ConfigError(f"label file {path}: indices must be 0..N-1 or 1..N without gaps or "
                          f"duplicates; got min {base}, max {max(indices)} for {len(indices)} "
                          f"lines{f', duplicates {dupes[:10]}' if dupes else ''}")
    names = [""] * len(entries)
    for idx, name in entries:
        names[idx - base] = name
    return LabelMap(names, ONE_BASED if base == 1 else ZERO_BASED, path)


def load_labels(path: str) -> LabelMap:
    """Read and parse a label file.

    Raises:
        ConfigError: missing or malformed file.
    """
    if not os.path.isfile(path):
        raise ConfigError(f"--label_file not found: {path}")
    with open(path, encoding="utf-8") as handle:
        return parse_labels(handle.read(), path)
