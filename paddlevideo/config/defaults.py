"""The defaults of the run settings a config may leave out: one table, read by every reader of them.

As PySlowFast's ``defaults.py``: a key that is not in the file has its value here and nowhere else
(``main.py``'s ``--seed``, the task loop's ``log_interval``, the loader's ``read_timeout``, the training
failure budget). Keys are dotted config paths.
"""
from typing import Any, Dict, Mapping

DEFAULTS: Dict[str, Any] = {
    "seed": 1234,  # PaddleVideo's default --seed, used when neither the command line nor the config sets one
    "log_interval": 10,  # batches between log lines in training, validation and test
    "DATASET.max_failure_ratio": 0.01,  # fraction of an epoch's samples allowed to fail in training
    "DATASET.read_timeout": 60.0,  # seconds one sample's read may take (0 or None: no deadline)
}


def setting(cfg: Mapping, path: str) -> Any:
    """``cfg``'s value at the dotted ``path``, or its default from :data:`DEFAULTS`.

    Raises:
        KeyError: ``path`` has no default (a typo in the caller, not in the config).
    """
    default = DEFAULTS[path]
    *parents, key = path.split(".")
    node = cfg
    for parent in parents:
        node = node.get(parent) or {}
    return node.get(key, default)
