"""Reading PyTorch ``.pth`` checkpoints with numpy only, so conversion never needs PyTorch installed.

A ``torch.save`` file (PyTorch >= 1.6) is a zip: ``<name>/data.pkl`` is a pickle of the saved object in
which each tensor is ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`` and each
storage is a persistent id ``('storage', torch.<Type>Storage, key, location, numel)`` whose raw
little-endian bytes are ``<name>/data/<key>``.

Unpickling runs whatever callables the pickle names, so a checkpoint from the internet must not be
loaded with plain ``pickle``. :class:`RestrictedUnpickler` resolves only the handful of names a
state dict, an optimizer state and an LR-scheduler state use; anything else is refused before it runs.
"""
import collections
import pickle
import zipfile
from typing import Any, Callable, Dict, Tuple

import numpy as np

from ...errors import ConfigError

# torch storage class -> how its raw bytes read as numpy (bfloat16 has no numpy type: widened below).
STORAGE_DTYPES: Dict[str, np.dtype] = {
    "DoubleStorage": np.dtype("<f8"), "FloatStorage": np.dtype("<f4"), "HalfStorage": np.dtype("<f2"),
    "BFloat16Storage": np.dtype("<u2"), "LongStorage": np.dtype("<i8"), "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"), "CharStorage": np.dtype("i1"), "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class StorageType:
    """Stand-in for a ``torch.<Type>Storage`` class named in the pickle."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = STORAGE_DTYPES[name]


def bfloat16_to_float32(raw: np.ndarray) -> np.ndarray:
    """bfloat16 is the upper half of a float32, so widening is a 16-bit shift."""
    return (raw.astype(np.uint32) << 16).view(np.float32)


def rebuild_tensor(storage: np.ndarray, offset: int, size: Tuple[int, ...], stride: Tuple[int, ...],
                   *unused: Any) -> np.ndarray:
    """numpy version of ``torch._utils._rebuild_tensor_v2``: a strided view of the storage, copied.

    Bounds are checked first because ``as_strided`` would otherwise read outside the storage.
    """
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride) or offset < 0 or any(s < 0 for s in size + stride):
        raise ConfigError(f"corrupt tensor record: offset {offset}, size {size}, stride {stride}")
    if 0 in size:
        return np.zeros(size, dtype=storage.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= storage.size:
        raise ConfigError(f"tensor record (offset {offset}, size {size}, stride {stride}) "
                          f"reaches past its storage of {storage.size} elements")
    itemsize = storage.itemsize
    view = np.lib.stride_tricks.as_strided(storage[offset:], size, tuple(s * itemsize for s in stride),
                                           writeable=False)
    return np.array(view)


def rebuild_parameter(data: np.ndarray, *unused: Any) -> np.ndarray:
    """``nn.Parameter`` pickles as its data plus ``requires_grad``; only the data matters here."""
    return data


# (module, name) -> what the restricted unpickler returns for it; nothing else resolves.
ALLOWED_GLOBALS: Dict[Tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("collections", "Counter"): collections.Counter,  # MultiStepLR milestones in training checkpoints
    ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
    **{("torch", name): StorageType(name) for name in STORAGE_DTYPES},
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler of a ``data.pkl`` that resolves only :data:`ALLOWED_GLOBALS`.

    Args:
        file: the pickle stream.
        load_storage: ``(key, StorageType, numel) -> np.ndarray`` reading one raw storage.
    """

    def __init__(self, file, load_storage: Callable[[str, StorageType, int], np.ndarray]):
        super().__init__(file)
        self.load_storage = load_storage
        self.storages: Dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise ConfigError(f"refusing to load '{module}.{name}': a weights file should only hold "
                              f"tensors and plain containers")
        return ALLOWED_GLOBALS[(module, name)]

    def persistent_load(self, pid: Any) -> np.ndarray:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], StorageType)):
            raise ConfigError(f"unsupported persistent id in checkpoint: {pid!r}")
        _, storage_type, key, _location, numel = pid
        if key not in self.storages:  # tensors sharing a storage (views) share one array
            self.storages[key] = self.load_storage(str(key), storage_type, int(numel))
        return self.storages[key]


def find_archive_prefix(names) -> str:
    """The folder holding ``data.pkl`` (``archive/`` or the saved file's stem, depending on version)."""
    prefixes = [n[:-len("data.pkl")] for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(prefixes) != 1:
        raise ConfigError(f"not a PyTorch zip checkpoint: expected one '<name>/data.pkl', found entries "
                          f"{sorted(names)[:8]}")
    return prefixes[0]


def read_storage(archive: zipfile.ZipFile, prefix: str, key: str, storage_type: StorageType,
                 numel: int) -> np.ndarray:
    """Raw storage ``key`` as a flat array (bfloat16 widened to float32)."""
    name = f"{prefix}data/{key}"
    try:
        raw = archive.read(name)
    except KeyError as err:
        raise ConfigError(f"checkpoint is missing tensor storage '{name}'") from err
    if len(raw) < numel * storage_type.dtype.itemsize:
        raise ConfigError(f"storage '{name}' holds {len(raw)} bytes, expected {numel} x "
                          f"{storage_type.dtype.itemsize}")
    flat = np.frombuffer(raw, dtype=storage_type.dtype, count=numel)
    return bfloat16_to_float32(flat) if storage_type.name == "BFloat16Storage" else flat


def read_pth(path: str) -> Any:
    """Load a ``torch.save`` zip checkpoint as nested Python containers with numpy arrays for tensors.

    Raises:
        ConfigError: not a zip checkpoint, big-endian, or referencing anything beyond tensors and
            plain containers.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise ConfigError(f"{path} is not a PyTorch zip checkpoint (legacy pre-1.6 files are not "
                          f"supported; re-save with a recent torch.save): {err}") from err
    with archive:
        prefix = find_archive_prefix(archive.namelist())
        if f"{prefix}byteorder" in archive.namelist() and archive.read(f"{prefix}byteorder") != b"little":
            raise ConfigError(f"{path}: big-endian checkpoints are not supported")
        with archive.open(f"{prefix}data.pkl") as stream:
            unpickler = RestrictedUnpickler(
                stream, lambda key, kind, numel: read_storage(archive, prefix, key, kind, numel))
            try:
                return unpickler.load()
            except ConfigError:
                raise
            except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError) as err:
                raise ConfigError(f"cannot unpickle {path}: {type(err).__name__}: {err}") from err
