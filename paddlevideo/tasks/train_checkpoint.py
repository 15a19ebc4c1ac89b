"""Training checkpoints: one consistent unit in PaddleVideo's two files, and finding the newest.

``<prefix>.pdparams`` holds the model weights only (so PaddleVideo and ``-w`` load it as before);
``<prefix>.pdopt`` holds everything else a resume needs -- optimizer (with the LR schedule), loss
scaler, epoch and step within it, best metric, seed, the Python/numpy/Paddle RNG states -- plus a
CRC of the ``.pdparams`` file it belongs with. Each file is written atomically, weights first, so a
crash at any moment leaves either a complete pair or a pair whose CRC does not match; ``--resume
auto`` skips the latter and takes the newest complete checkpoint instead.
"""
import glob
import os
import pickle
import random
import re
import zlib
from typing import Dict, Optional, Tuple

import numpy as np
import paddle

from ..registry import ConfigError
from ..utils.checkpoint import load_file, save_atomic
from ..utils.logger import get_logger

WEIGHTS, STATE = ".pdparams", ".pdopt"


def file_crc(path: str) -> str:
    """CRC-32 of a file's bytes (hex), read in 16 MiB chunks."""
    crc = 0
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 24), b""):
            crc = zlib.crc32(chunk, crc)
    return f"{crc:08x}"


def rng_states() -> np.ndarray:
    """Python, numpy and Paddle RNG states, pickled into a uint8 array (``paddle.save`` stores neither
    Paddle's generator states nor bytes, but both pickle)."""
    blob = pickle.dumps({"python": random.getstate(), "numpy": np.random.get_state(),
                         "paddle": paddle.get_rng_state()})
    return np.frombuffer(blob, dtype=np.uint8).copy()


def restore_rng_states(packed) -> None:
    states = pickle.loads(np.asarray(packed, dtype=np.uint8).tobytes())
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    paddle.set_rng_state(states["paddle"])


def save_checkpoint(prefix: str, weights: Dict, state: Dict) -> None:
    """Write ``prefix.pdparams`` then ``prefix.pdopt`` (with the weights' CRC), each atomically."""
    save_atomic(weights, prefix + WEIGHTS)
    save_atomic({**state, "weights_crc": file_crc(prefix + WEIGHTS), "rng": rng_states()}, prefix + STATE)


def prefix_of(path: str) -> str:
    root, ext = os.path.splitext(path)
    return root if ext in (WEIGHTS, STATE) else path


def check_pair(prefix: str) -> Optional[str]:
    """Why ``prefix`` is not a complete checkpoint, or None if it is."""
    for ext in (WEIGHTS, STATE):
        if not os.path.isfile(prefix + ext):
            return f"{prefix + ext} is missing"
    return None


def load_checkpoint(path: str) -> Tuple[Dict, Dict]:
    """Weights and state of the checkpoint ``path`` (either file of the pair, or the common prefix).

    A plain PaddleVideo ``.pdopt`` (the optimizer's state dict alone) is accepted: the epoch then
    comes from the ``_epoch_N`` in its name.

    Raises:
        ConfigError: a file is missing or unreadable, or the two files are not from the same save.
    """
    prefix = prefix_of(path)
    problem = check_pair(prefix)
    if problem:
        raise ConfigError(f"--resume {path}: {problem}")
    state = load_file(prefix + STATE, "--resume state")
    if "optimizer" not in state:
        state = paddlevideo_state(prefix, state)
    crc = state.get("weights_crc")
    if crc is not None and crc != file_crc(prefix + WEIGHTS):
        raise ConfigError(f"--resume {path}: {prefix + WEIGHTS} is not the file {prefix + STATE} was saved "
                          f"with (a save was interrupted); use an earlier checkpoint or --resume auto")
    return load_file(prefix + WEIGHTS, "--resume weights"), state


def paddlevideo_state(prefix: str, optimizer_state: Dict) -> Dict:
    match = re.search(r"_epoch_(\d+)$", prefix)
    if not match:
        raise ConfigError(f"--resume {prefix}{STATE}: a bare optimizer state, and no _epoch_N in the name "
                          f"to tell the epoch")
    return {"optimizer": optimizer_state, "epoch": int(match.group(1)), "step": 0}


def find_resumable(output_dir: str, model_name: str) -> Optional[str]:
    """The newest complete checkpoint (epoch or latest) in ``output_dir``, or None.

    Newest by the time its ``.pdopt`` was written (the second file of every save); a pair whose CRCs
    disagree -- a save cut short -- is skipped with a warning.
    """
    pattern = os.path.join(glob.escape(output_dir), f"{glob.escape(model_name)}_*{STATE}")
    candidates = sorted(glob.glob(pattern), key=os.path.getmtime, reverse=True)
    for state_file in candidates:
        prefix = prefix_of(state_file)
        if check_pair(prefix):
            continue
        state = load_file(state_file, "checkpoint state")
        crc = state.get("weights_crc") if isinstance(state, dict) else None
        if crc is None or crc == file_crc(prefix + WEIGHTS):
            return prefix + WEIGHTS
        get_logger().warning("skipping %s: its weights file does not match (an interrupted save)", prefix)
    return None
