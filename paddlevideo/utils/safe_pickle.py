"""Reading ``paddle.save`` files without running anything they name.

A ``.pdparams``/``.pdopt`` is a pickle, and unpickling calls whatever callables the pickle names: a file
naming ``os.system`` runs a command under plain ``paddle.load``. :class:`RestrictedUnpickler` resolves
only the names real Paddle files use, and refuses anything else before it runs.

What ``paddle.save`` writes (``paddle/framework/io.py``, Paddle 3.x):

* a state dict of tensors (``_legacy_save``): a plain dict of numpy arrays plus
  ``'StructuredToParameterName@@'`` (key -> tensor name); with pickle protocol 2 or 3, arrays over
  1 GiB are split into ``key@@.0``, ``key@@.1``, ... listed under ``'UnpackBigParamInfor@@'``;
* anything else (optimizer state with its LR scheduler, nested dicts, ...; ``_pickle_save``): each
  tensor as ``tuple((name, ndarray))``, everything else as ordinary pickle.

So the pickles name only numpy's array reconstruction, ``builtins.tuple`` (``__builtin__.tuple`` and
``_codecs.encode`` for bytes under protocol 2) and ``collections.OrderedDict``. :func:`load_paddle`
then turns arrays back into tensors exactly as ``paddle.load`` does.
"""
import collections
import pickle
from typing import Any, Callable, Dict, Tuple

import numpy as np
import paddle

from ..errors import ConfigError

NAME_TABLE = "StructuredToParameterName@@"
BIG_ARRAYS = "UnpackBigParamInfor@@"  # sic: Paddle's spelling


def reconstruct_array(subtype: type, shape: Tuple[int, ...], dtype: Any) -> np.ndarray:
    """``numpy.core.multiarray._reconstruct`` for plain arrays only (a subclass could run its own code)."""
    if subtype is not np.ndarray:
        raise pickle.UnpicklingError(f"array of type {subtype!r}, expected numpy.ndarray")
    return np.ndarray(shape, dtype)


def numpy_scalar(dtype: np.dtype, data: Any = None) -> Any:
    """``numpy.core.multiarray.scalar`` for non-object dtypes: a number from its raw bytes (a latin1
    ``str`` in Python 2 pickles)."""
    if isinstance(data, str):
        data = data.encode("latin1")
    if not isinstance(dtype, np.dtype) or dtype.hasobject or not isinstance(data, bytes):
        raise pickle.UnpicklingError(f"numpy scalar of dtype {dtype!r} is not plain data")
    return np.frombuffer(data, dtype=dtype, count=1)[0]


def encode_latin1(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as protocol 2 uses it for ``bytes``; other codecs may import modules."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"_codecs.encode with {encoding!r}, expected latin1")
    return text.encode("latin1")


# (module, name) -> what the restricted unpickler returns for it; nothing else resolves.
PADDLE_GLOBALS: Dict[Tuple[str, str], Any] = {
    ("builtins", "tuple"): tuple,  # how paddle.save reduces a Tensor: tuple((name, ndarray))
    ("__builtin__", "tuple"): tuple,  # the same under protocol 2
    ("_codecs", "encode"): encode_latin1,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): reconstruct_array,  # numpy 1.x
    ("numpy._core.multiarray", "_reconstruct"): reconstruct_array,  # numpy 2.x
    ("numpy.core.multiarray", "scalar"): numpy_scalar,  # e.g. a metric kept as np.float32
    ("numpy._core.multiarray", "scalar"): numpy_scalar,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals in ``allowed``.

    Args:
        file: the pickle stream.
        source: the file it came from, named in errors.
        allowed: ``(module, name) -> object`` the pickle may refer to.
    """

    def __init__(self, file, source: str, allowed: Dict[Tuple[str, str], Any] = PADDLE_GLOBALS):
        super().__init__(file, encoding="latin1")  # as paddle.load: protocol 2 files from Python 2
        self.source = source
        self.allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.allowed:
            raise ConfigError(f"refusing to load {self.source}: it asks to call {module}.{name}, which a "
                              f"weights file never needs")
        return self.allowed[(module, name)]

    def persistent_load(self, pid: Any) -> Any:
        raise ConfigError(f"refusing to load {self.source}: it refers to an external object {pid!r}")


def join_big_arrays(state: Dict) -> Dict:
    """Re-join the slices ``paddle.save`` cuts arrays over 1 GiB into (protocol 2 and 3), in place."""
    info = state.pop(BIG_ARRAYS, None)
    if not isinstance(info, dict):
        return state
    for key, record in info.items():
        slices = [state.pop(part) for part in record["slices"]]
        state[key] = np.concatenate(slices).reshape(record["OriginShape"])
    return state


def named_tensor(name: str, array: np.ndarray) -> paddle.Tensor:
    tensor = paddle.to_tensor(array)
    tensor.name = name
    return tensor


def is_saved_tensor(obj: Any) -> bool:
    """A tensor as ``_pickle_save`` writes it: ``(name, ndarray)``."""
    return type(obj) is tuple and len(obj) == 2 and isinstance(obj[0], str) and isinstance(obj[1], np.ndarray)


def contains(obj: Any, condition: Callable[[Any], bool]) -> bool:
    """Whether ``condition`` holds for ``obj`` or anything inside its dicts, lists and tuples."""
    if condition(obj):
        return True
    if type(obj) in (dict, collections.OrderedDict):
        return any(contains(v, condition) for v in obj.values())
    if type(obj) in (list, tuple):
        return any(contains(v, condition) for v in obj)
    return False


def convert(obj: Any, condition: Callable[[Any], bool], to_tensor: Callable[[Any], Any]) -> Any:
    """``obj`` with every part meeting ``condition`` converted (dicts and lists changed in place)."""
    if condition(obj):
        return to_tensor(obj)
    if type(obj) in (dict, collections.OrderedDict):
        for key in obj:
            obj[key] = convert(obj[key], condition, to_tensor)
    elif type(obj) is list:
        obj[:] = [convert(v, condition, to_tensor) for v in obj]
    elif type(obj) in (tuple, set):
        return type(obj)(convert(list(obj), condition, to_tensor))
    return obj


def to_paddle_objects(obj: Any) -> Any:
    """What ``paddle.load`` returns for the unpickled ``obj``: saved tensors become ``paddle.Tensor``.

    A state dict's arrays listed in its name table become tensors of those names. Otherwise, if any
    ``(name, ndarray)`` pair is present (Paddle >= 2.1) those pairs become tensors and other arrays stay
    numpy; if none is, every array becomes a tensor (files from Paddle 2.0).
    """
    if isinstance(obj, dict):
        obj = join_big_arrays(obj)
        if NAME_TABLE in obj:
            for key, name in obj.pop(NAME_TABLE).items():
                if isinstance(obj.get(key), np.ndarray):
                    obj[key] = named_tensor(name, obj[key])
            return obj
    if contains(obj, is_saved_tensor):
        return convert(obj, is_saved_tensor, lambda pair: named_tensor(*pair))
    return convert(obj, lambda v: isinstance(v, np.ndarray), paddle.to_tensor)


def unpickle(path: str, allowed: Dict[Tuple[str, str], Any] = PADDLE_GLOBALS) -> Any:
    """The object pickled in ``path``, resolving only ``allowed`` globals (no tensor conversion)."""
    with open(path, "rb") as handle:
        return RestrictedUnpickler(handle, path, allowed).load()


def load_paddle(path: str) -> Any:
    """``paddle.load(path)`` for pickled files, refusing any file that names more than plain data.

    Raises:
        ConfigError: the file asks for a callable beyond :data:`PADDLE_GLOBALS` (nothing has run).
    """
    return to_paddle_objects(unpickle(path))
