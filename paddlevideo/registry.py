"""All component registries and the one ``build`` function.

Every configurable piece (backbones, heads, recognizers, losses, datasets, pipeline ops, metrics,
optimizers, LR schedules) is registered here by class name and built from a config dict whose
``name`` key selects the class. Unknown names and unexpected keys fail loudly with the choices.
"""
import difflib
import inspect
import typing
from typing import Any, Callable, Dict, Optional

from .errors import ConfigError


class Registry:
    """Maps names to classes (or factory functions) of one component kind."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: Dict[str, Callable] = {}

    def register(self, name: Optional[str] = None) -> Callable:
        """Decorator registering a class under ``name`` (default: its ``__name__``)."""

        def wrap(obj: Callable) -> Callable:
            key = name or obj.__name__
            if key in self._items:
                raise KeyError(f"{self.kind} '{key}' is registered twice")
            self._items[key] = obj
            return obj

        return wrap

    def get(self, name: str) -> Callable:
        if name not in self._items:
            close = difflib.get_close_matches(str(name), self._items, n=3)
            hint = f" Did you mean {close}?" if close else ""
            raise ConfigError(
                f"Unknown {self.kind} '{name}'.{hint} Registered {self.kind}s: {sorted(self._items)}")
        return self._items[name]

    def __contains__(self, name: str) -> bool:
        return name in self._items


BACKBONES = Registry("backbone")
HEADS = Registry("head")
RECOGNIZERS = Registry("recognizer")
LOSSES = Registry("loss")
DATASETS = Registry("dataset")
PIPELINES = Registry("pipeline op")
METRICS = Registry("metric")
OPTIMIZERS = Registry("optimizer")
LRSCHEDULERS = Registry("lr schedule")


def check_kwargs(target: Callable, kwargs: Dict[str, Any], where: str, injected=()) -> None:
    """Raise a ConfigError naming keys ``target`` does not accept, of the wrong type, or missing.

    ``injected`` names arguments the caller supplies at build time (they count as present).
    """
    params = inspect.signature(target).parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return
    accepted = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    for key in kwargs:
        if key not in accepted:
            close = difflib.get_close_matches(key, accepted, n=3)
            hint = f" Did you mean {close}?" if close else ""
            raise ConfigError(f"{where}: unknown key '{key}'.{hint} Accepted keys: {accepted}")
    for key, value in kwargs.items():
        annotation = params[key].annotation
        if not type_matches(value, annotation):
            raise ConfigError(f"{where}: key '{key}' expects {_type_name(annotation)}, "
                              f"got {type(value).__name__} {value!r}")
    missing = [n for n, p in params.items()
               if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
               and n not in kwargs and n not in injected and n != "self"]
    if missing:
        raise ConfigError(f"{where}: missing required key(s) {missing}")


def type_matches(value: Any, annotation: Any) -> bool:
    """Whether ``value`` fits a constructor annotation (int, float, bool, str, list, dict, Optional...)."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Union:
        return any(type_matches(value, arg) for arg in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (list, tuple, typing.Sequence):
        return isinstance(value, (list, tuple))
    if origin is dict:
        return isinstance(value, dict)
    return isinstance(value, annotation) if isinstance(annotation, type) else True


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def build(cfg: Dict[str, Any], registry: Registry, key: str = "name", **extra: Any) -> Any:
    """Build the component named by ``cfg[key]`` with the remaining entries as keyword arguments.

    Args:
        cfg: mapping with the component name under ``key`` plus its constructor arguments.
        registry: where to look the name up.
        key: which entry holds the name (PaddleVideo uses ``framework`` for recognizers).
        extra: arguments supplied by the caller rather than the config (e.g. built sub-modules).
    """
    if not isinstance(cfg, dict) or key not in cfg:
        raise ConfigError(f"A {registry.kind} config must be a mapping with a '{key}' entry, got {cfg!r}")
    kwargs = {k: v for k, v in cfg.items() if k != key}
    kwargs.update(extra)
    target = registry.get(cfg[key])
    check_kwargs(target, kwargs, f"{registry.kind} '{cfg[key]}'")
    try:
        return target(**kwargs)
    except ConfigError:
        raise
    except ValueError as err:  # constructors reject invalid values with ValueError; bugs stay loud
        raise ConfigError(f"{registry.kind} '{cfg[key]}': {err}") from err
