"""Training checkpoints: one consistent unit in PaddleVideo's two files, and finding the newest.

``<prefix>.pdparams`` holds the model weights only (so PaddleVideo and ``-w`` load it as before);
``<prefix>.pdopt`` holds everything else a resume needs -- optimizer (with the LR schedule and, after
O2, the float32 master weights), loss scaler, epoch and step within it, best metric, seed, every
rank's Python/numpy/Paddle RNG states -- plus a CRC of the ``.pdparams`` file it belongs with. Both
files are written to temporaries and renamed together, so a failed save keeps the previous pair, and
a crash at any moment leaves either a complete pair or a pair whose CRC does not match; ``--resume
auto`` skips the latter and takes the newest complete checkpoint instead.
"""
import glob
import io
import os
import random
import re
import zlib
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np
import paddle
import paddle.distributed as dist
import paddle.nn as nn
from paddle.base.libpaddle import GeneratorState

from ..errors import ConfigError, OutputDirError
from ..utils.atomic import atomic_paths, describe_write_error
from ..utils.checkpoint import load_file
from ..utils.logger import get_logger
from ..utils.runtime import rank, world_size
from ..utils.safe_pickle import PADDLE_GLOBALS, RestrictedUnpickler

WEIGHTS, STATE = ".pdparams", ".pdopt"
LOW_PRECISION = (paddle.float16, paddle.bfloat16)  # the dtypes O2 turns parameters to


def file_crc(path: str) -> str:
    """CRC-32 of a file's bytes (hex), read in 16 MiB chunks."""
    crc = 0
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 24), b""):
            crc = zlib.crc32(chunk, crc)
    return f"{crc:08x}"


def generator_to_plain(state: GeneratorState) -> Dict:
    """A Paddle generator state as plain values: its ``__getstate__`` is (device, seed, offset, the
    engine's state text as a list of character codes)."""
    device, seed, offset, engine = state.__getstate__()
    return {"device": int(device), "seed": int(seed), "offset": int(offset),
            "engine": bytes(engine).decode("ascii")}


def generator_from_plain(plain: Dict) -> GeneratorState:
    state = GeneratorState.__new__(GeneratorState)
    state.__setstate__((int(plain["device"]), int(plain["seed"]), int(plain["offset"]),
                        list(plain["engine"].encode("ascii"))))
    return state


def rng_states() -> Dict:
    """Python, numpy and Paddle RNG states as ints, floats, strings and lists: plain data, so the
    ``.pdopt`` they are saved in reads back through the restricted unpickler. No arrays: a ``.pdopt``
    without tensors would have ``paddle.load`` semantics turn them into tensors, and uint32 has none."""
    version, internal, gauss_next = random.getstate()
    algorithm, keys, pos, has_gauss, cached_gaussian = np.random.get_state()
    return {"python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
            "numpy": {"algorithm": algorithm, "keys": keys.tolist(), "pos": int(pos),
                      "has_gauss": int(has_gauss), "cached_gaussian": float(cached_gaussian)},
            "paddle": [generator_to_plain(state) for state in paddle.get_rng_state()]}


def gather_rng_states() -> Dict:
    """Every rank's :func:`rng_states`, as ``{"ranks": [rank 0's, rank 1's, ...]}``; all ranks call it.

    Gathered to rank 0, which writes the checkpoint, rather than written by each rank to a file of its
    own: the ``.pdopt`` stays the one unit that is saved atomically, CRC-checked and found by
    ``--resume auto``, and a multi-node run's other nodes need no access to ``output_dir``.
    """
    own = rng_states()
    if world_size() == 1:
        return {"ranks": [own]}
    states: List[Dict] = []
    dist.all_gather_object(states, own)
    return {"ranks": states}


def restore_rng_states(states: Dict) -> None:
    """Set this rank's RNGs from :func:`gather_rng_states` data, or from one :func:`rng_states` (what
    older checkpoints hold: rank 0's).

    What does not fit this run keeps its seeded state, in one logged line: all of it on a rank the
    checkpoint has no entry for, and the Paddle generators when the checkpoint has states for another
    number of devices than are visible now (``paddle.set_rng_state`` needs exactly one per device).
    """
    saved, here = states.get("ranks", [states]), rank()
    if here >= len(saved):
        get_logger().warning("rank %d: the checkpoint holds the RNG states of %d rank(s) only; this rank's RNGs "
                             "keep their seeded state", here, len(saved))
        return
    python, numpy = saved[here]["python"], saved[here]["numpy"]
    random.setstate((python["version"], tuple(python["internal"]), python["gauss_next"]))
    np.random.set_state((numpy["algorithm"], np.asarray(numpy["keys"], dtype=np.uint32), numpy["pos"],
                         numpy["has_gauss"], numpy["cached_gaussian"]))
    restore_generators(saved[here]["paddle"], here)


def restore_generators(plain: List[Dict], here: int) -> None:
    """Set Paddle's generators of the current device type from :func:`generator_to_plain` states, if
    the checkpoint has one for each visible device (else log and keep the seeded ones)."""
    visible = len(paddle.get_rng_state())
    if len(plain) != visible:
        get_logger().warning("rank %d: the checkpoint holds Paddle RNG states for %d device(s), %d are visible "
                             "now; Paddle's RNG keeps its seeded state (random layers such as dropout will not "
                             "repeat the interrupted run)", here, len(plain), visible)
        return
    paddle.set_rng_state([generator_from_plain(state) for state in plain])


class LegacyGeneratorState:
    """Stand-in for ``GeneratorState`` in old RNG blobs: keeps the unpickled state, runs nothing."""

    def __setstate__(self, state: Tuple) -> None:
        self.state = state

    def __getstate__(self) -> Tuple:
        return self.state


# Checkpoints before plain RNG data pickled the states into a uint8 array; these are all it names.
LEGACY_RNG_GLOBALS = {**PADDLE_GLOBALS, ("paddle.base.libpaddle", "GeneratorState"): LegacyGeneratorState}


def plain_rng_states(packed: Any, source: str) -> Dict:
    """The ``rng`` entry of a ``.pdopt`` as plain data (:func:`gather_rng_states`, or one rank's); an old
    pickled blob is read with a restricted unpickler that allows only what such blobs contain.

    Raises:
        ConfigError: the blob names anything else (naming ``source`` and the callable; nothing has run),
            or is not the states it should be.
    """
    if isinstance(packed, dict):
        return packed
    blob = np.asarray(packed, dtype=np.uint8).tobytes()
    try:
        unpickler = RestrictedUnpickler(io.BytesIO(blob), f"the RNG states in {source}", LEGACY_RNG_GLOBALS)
        return legacy_to_plain(unpickler.load())
    except ConfigError:
        raise
    except Exception as err:  # a corrupt blob fails with many types
        raise ConfigError(f"cannot read the RNG states in {source}: {type(err).__name__}: {err}") from err


def legacy_to_plain(states: Dict) -> Dict:
    """An old blob's ``random``/``numpy`` state tuples and ``GeneratorState`` list as plain data."""
    version, internal, gauss_next = states["python"]
    algorithm, keys, pos, has_gauss, cached_gaussian = states["numpy"]
    return {"python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
            "numpy": {"algorithm": algorithm, "keys": np.asarray(keys).tolist(), "pos": pos,
                      "has_gauss": has_gauss, "cached_gaussian": cached_gaussian},
            "paddle": [generator_to_plain(state) for state in states["paddle"]]}


def save_checkpoint(prefix: str, weights: Dict, state: Dict, rng: Optional[Dict] = None) -> None:
    """Write ``prefix.pdparams`` and ``prefix.pdopt`` (with the weights' CRC and RNG states) as one unit.

    Both files are written in full to temporaries and renamed only when both are on the disk, weights
    first (the ``.pdopt`` stays the newest file of a save). A save that fails -- a full disk, a
    directory turned read-only -- thus leaves the previous pair of this name whole and no temporary;
    only a crash between the two renames can leave a mismatched pair, which ``--resume auto`` skips.

    Args:
        prefix: the path without ``.pdparams``/``.pdopt``.
        weights: the model's state dict.
        state: the rest of the run's state (optimizer, position, ...).
        rng: every rank's RNG states (:func:`gather_rng_states`); default: this process's alone.
    """
    rng = rng if rng is not None else {"ranks": [rng_states()]}
    with atomic_paths(prefix + WEIGHTS, prefix + STATE) as (weights_tmp, state_tmp):
        paddle.save(weights, weights_tmp)
        paddle.save({**state, "weights_crc": file_crc(weights_tmp), "rng": rng}, state_tmp)


@contextmanager
def reporting_save_errors(target: str, last_good: str) -> Iterator[None]:
    """Turn an ``OSError`` while saving ``target`` into one clear :class:`OutputDirError`.

    Args:
        target: the file or checkpoint prefix being written.
        last_good: the checkpoint a resume would start from, for the message.

    Raises:
        OutputDirError: naming the directory, why it cannot be written, its free space and ``last_good``.
    """
    try:
        yield
    except OSError as err:
        reason = describe_write_error(err, os.path.dirname(os.path.abspath(target)))
        raise OutputDirError(f"cannot save {os.path.basename(target)}: {reason}; stopping. The last good "
                             f"checkpoint is {last_good}") from err


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
    if "rng" in state:
        state["rng"] = plain_rng_states(state["rng"], prefix + STATE)
    return load_file(prefix + WEIGHTS, "--resume weights"), state


def resume_states(weights: Dict, optimizer_state: Dict, model: nn.Layer) -> Tuple[Dict, Dict]:
    """A checkpoint's weights and optimizer state as they fit ``model``, whatever precision either ran in.

    After O2 (``paddle.amp.decorate``) the parameters are float16/bfloat16 while a checkpoint holds
    float32 (``save_dtype``), and ``Tensor.set_value`` refuses another dtype; the full-precision values
    are the optimizer's ``master_weights``, of which ``.pdparams`` holds only the rounded copy. So
    every weight comes from its master copy where the checkpoint has one and is cast to the model's
    dtype, and the optimizer gets float32 master weights for exactly the model's low-precision
    parameters (Paddle's ``Optimizer._create_master_weight`` takes a loaded one instead of casting
    the parameter up) -- none for a float32 model, or stale ones would be saved again.

    Args:
        weights: the ``.pdparams`` state dict (structured names).
        optimizer_state: the optimizer state as saved (structured names).
        model: the model to resume, already decorated.

    Returns:
        ``(weights, optimizer_state)`` ready for ``load_weights`` and ``optimizer_state_for_loading``.
    """
    saved_masters = optimizer_state.get("master_weights", {})
    full = {k: as_tensor(v) for k, v in {**weights, **saved_masters}.items() if k in weights}
    masters = {name: paddle.cast(full[name], "float32") for name, param in model.named_parameters()
               if param.dtype in LOW_PRECISION and name in full}
    optimizer_state = {k: v for k, v in optimizer_state.items() if k != "master_weights"}
    if masters:
        optimizer_state["master_weights"] = masters
    return in_model_dtypes(full, model), optimizer_state


def as_tensor(value: Any) -> paddle.Tensor:
    return value if isinstance(value, paddle.Tensor) else paddle.to_tensor(value)


def in_model_dtypes(weights: Dict[str, paddle.Tensor], model: nn.Layer) -> Dict[str, paddle.Tensor]:
    """``weights`` with each floating-point entry cast to the dtype of the model's entry of that name
    (read without the state-dict hooks, which would report O2's ``save_dtype`` instead)."""
    current = model.state_dict(use_hook=False)
    out = {}
    for key, value in weights.items():
        target = current.get(key)
        if target is not None and target.is_floating_point() and value.is_floating_point() \
                and value.dtype != target.dtype:
            value = paddle.cast(value, target.dtype)
        out[key] = value
    return out


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
