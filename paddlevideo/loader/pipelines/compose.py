"""Turn one mode's ``PIPELINE`` config section into a callable chain of ops.

Why: the per-sample preprocessing is described as data in the YAML config; this is the single
place that builds it, so a misspelt op or key is reported with where it sits in the section
(``PIPELINE.decode``, ``PIPELINE.transform[2]``, ...). It also holds the two small checks every
op shares: required ``results`` keys and positive-int constructor arguments.

Two class attributes let an op tell ``Compose`` how it may be moved: ``FORMAT_STEP`` (a rank:
``Normalization`` 1, ``Image2Array`` 2) marks the ops that leave uint8 [N, H, W, 3] and must run
last; ``GEOMETRIC = True`` marks ops that only move, select or bilinearly blend pixels, which a
format step may be moved across (``format_steps_last``).
"""
from typing import Any, Callable, Dict, Iterable, List

from paddlevideo.config.pipeline_config import pipeline_ops
from paddlevideo.errors import ConfigError
from paddlevideo.registry import PIPELINES, build


def require_keys(results: Dict[str, Any], keys: Iterable[str], op: str) -> None:
    """Raise a KeyError naming ``op`` and the missing keys if ``results`` lacks any of ``keys``."""
    missing = [k for k in keys if k not in results]
    if missing:
        raise KeyError(f"{op}: results lack {missing} (present: {sorted(results)}); "
                       f"check the op order in the PIPELINE config")


def check_positive_int(value: Any, name: str, op: str) -> None:
    """Raise a ValueError unless ``value`` is an int >= 1 (bools are rejected)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{op}: {name} must be a positive int, got {value!r}")


def build_op(where: str, name: str, kwargs: Dict[str, Any]) -> Callable:
    """Build one op, naming where it sits in the section (and which op) when its config is wrong."""
    label = where if where.startswith(("PIPELINE.decode", "PIPELINE.sample")) else f"{where} ({name})"
    try:
        return build({"name": name, **kwargs}, PIPELINES)
    except ConfigError as err:
        raise ConfigError(f"{label}: {err}") from err


def format_steps_last(transforms: List[Callable]) -> List[Callable]:
    """The transform ops in the order they run: as listed, but with the format steps last.

    PaddleVideo lists ``Normalization`` and ``Image2Array`` before its resize and crop ops (and
    sometimes ``Image2Array`` first). Here the format steps run after every other op, Normalization
    before Image2Array, so resizing and cropping act on uint8 frames. The result is bit for bit the
    one of the same list written with the format steps last: they draw no random numbers, so every
    other op sees the same draws, and normalising or transposing commutes exactly with crops,
    flips and view stacking (they only select pixels). Against literally resizing normalised
    floats, resized pixels differ by the uint8 rounding of the resize (at most about one grey
    level before normalisation), which is why the uint8 order is the one used.

    Each ``Normalization.tensor_shape`` is checked against the layout where it is listed
    ([N, H, W, 3] until an ``Image2Array``, that op's ``data_format`` after it).

    Raises:
        ConfigError: an op that is neither a format step nor ``GEOMETRIC`` (e.g. a colour op) is
            listed after a format step -- it cannot act on normalised floats and moving it would
            change what it does; or a ``tensor_shape`` that does not fit where it is listed.
    """
    layout, moved = "nhwc", False
    for index, op in enumerate(transforms):
        name = type(op).__name__
        if getattr(op, "FORMAT_STEP", None) is not None:
            moved = True
            if hasattr(op, "check_layout"):
                try:
                    op.check_layout(layout)
                except ValueError as err:
                    raise ConfigError(f"PIPELINE.transform[{index}] ({name}): {err}") from err
            layout = getattr(op, "data_format", layout)
        elif moved and not getattr(op, "GEOMETRIC", False):
            raise ConfigError(f"PIPELINE.transform[{index}] ({name}): listed after Normalization/"
                              f"Image2Array, but only resize, crop and flip ops can follow them; "
                              f"move {name} before Normalization")
    steps = sorted((op for op in transforms if getattr(op, "FORMAT_STEP", None) is not None),
                   key=lambda op: op.FORMAT_STEP)
    return [op for op in transforms if getattr(op, "FORMAT_STEP", None) is None] + steps


def apply(ops: List[Callable], results: Dict[str, Any]) -> Dict[str, Any]:
    for op in ops:
        results = op(results)
        if not isinstance(results, dict):
            raise TypeError(f"pipeline op {type(op).__name__} returned "
                            f"{type(results).__name__}, expected the results dict")
    return results


class Compose:
    """Runs the decode op, the sample op, then the transform ops, in that order.

    The transform ops run as listed, except that ``Normalization`` and ``Image2Array`` run after
    the others (PaddleVideo lists them before its crops; see ``format_steps_last``).

    Args:
        cfg: one mode of the ``PIPELINE`` section, e.g.
            ``{'decode': {'name': 'VideoDecoder'}, 'sample': {'name': 'Sampler', 'num_seg': 8},
            'transform': [{'Scale': {'short_size': 256}}, {'Image2Array': None}]}``.
            Every stage is optional; any other key is an error.

    Raises:
        ConfigError: unknown stage, op name or op argument, or a malformed transform item; the
            message says which stage / list item.
    """

    def __init__(self, cfg: dict):
        built = [(where, build_op(where, name, kwargs)) for where, name, kwargs in pipeline_ops(cfg)]
        self.read_ops: List[Callable] = [op for where, op in built if not where.startswith("PIPELINE.transform")]
        self.transform_ops: List[Callable] = format_steps_last(
            [op for where, op in built if where.startswith("PIPELINE.transform")])
        self.ops: List[Callable] = self.read_ops + self.transform_ops

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        """Apply every op in order.

        Args:
            results: ``{'filename': str, 'label': int}`` at the start of a pipeline.

        Returns:
            The dict returned by the last op (``imgs`` holds the clip).
        """
        return self.transform(self.read(results))

    def read(self, results: Dict[str, Any]) -> Dict[str, Any]:
        """The decode and sample stages: the part that reads files (``imgs`` holds the sampled frames)."""
        return apply(self.read_ops, results)

    def transform(self, results: Dict[str, Any]) -> Dict[str, Any]:
        """The transform ops on what :meth:`read` returned."""
        return apply(self.transform_ops, results)

    def __repr__(self) -> str:
        return f"Compose([{', '.join(type(op).__name__ for op in self.ops)}])"
