"""Counting numbered blocks in a state dict, shared by every format."""
import re
from typing import Dict

from ...errors import ConfigError


def count_numbered(state: Dict, pattern: str, what: str) -> int:
    """Number of distinct indices captured by ``pattern`` (group 1) in the keys of ``state``.

    A gap in the numbering means a truncated or edited file, which would otherwise load as a
    shallower model, so it is an error.
    """
    found = {int(m.group(1)) for m in (re.match(pattern, k) for k in state) if m}
    if found != set(range(len(found))):
        raise ConfigError(f"{what}: blocks {sorted(found)} are not numbered 0..N-1")
    return len(found)
