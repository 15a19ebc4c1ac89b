"""All component registries and the one ``build`` function.

Every configurable piece (backbones, heads, recognizers, losses, datasets, pipeline ops, metrics,
optimizers, LR schedules) is registered here by class name and built from a config dict whose
``name`` key selects the class. Unknown names and unexpected keys fail loudly with the choices.

A registry knows where its members live as module *names* (``locations``, as mmengine's registries)
and imports them with importlib on its first lookup or listing: this module, and the config code that
reads the constructors as its schema, import none of the layers above them, and only the registries a
caller consults get filled (``tools/predict.py`` on an exported model never imports the model code).
"""
import difflib
import importlib
import inspect
import typing
from typing import Any, Callable, Dict, Iterable, List, Optional

from .errors import ConfigError


class Registry:
    """Maps names to classes (or factory functions) of one component kind."""

    def __init__(self, kind: str, locations: Iterable[str] = ()):
        """
        Args:
            kind: what the members are, for messages (``backbone``).
            locations: modules whose import registers the members (``["paddlevideo.modeling"]``),
                imported on the first lookup or listing.
        """
        self.kind = kind
        self.locations: List[str] = list(locations)
        self._imported = False
        self._items: Dict[str, Callable] = {}
        self._validators: Dict[str, Callable[[Dict[str, Any]], Any]] = {}

    def register(self, name: Optional[str] = None,
                 validate: Optional[Callable[[Dict[str, Any]], Any]] = None) -> Callable:
        """Decorator registering a class under ``name`` (default: its ``__name__``).

        ``validate(kwargs)``, if given, is the check of a config's keyword arguments for this member that
        its signature cannot express (it raises ConfigError); ``check_config`` runs it before building.
        """

        def wrap(obj: Callable) -> Callable:
            key = name or obj.__name__
            if key in self._items:
                raise KeyError(f"{self.kind} '{key}' is registered twice")
            self._items[key] = obj
            if validate is not None:
                self._validators[key] = validate
            return obj

        return wrap

    def import_locations(self) -> None:
        """Import the modules that register the members (once; what they import stays imported)."""
        if self._imported:
            return
        self._imported = True  # set first: a location importing this registry must not recurse
        try:
            for module in self.locations:
                importlib.import_module(module)
        except BaseException:
            self._imported = False
            raise

    def names(self) -> List[str]:
        self.import_locations()
        return sorted(self._items)

    def get(self, name: str) -> Callable:
        self.import_locations()
        if name not in self._items:
            close = difflib.get_close_matches(str(name), self._items, n=3)
            hint = f" Did you mean {close}?" if close else ""
            raise ConfigError(
                f"Unknown {self.kind} '{name}'.{hint} Registered {self.kind}s: {sorted(self._items)}")
        return self._items[name]

    def validator(self, name: str) -> Optional[Callable[[Dict[str, Any]], Any]]:
        """The ``validate`` registered with ``name`` (None if none)."""
        self.get(name)
        return self._validators.get(name)

    def __contains__(self, name: str) -> bool:
        self.import_locations()
        return name in self._items


BACKBONES = Registry("backbone", locations=["paddlevideo.modeling"])
HEADS = Registry("head", locations=["paddlevideo.modeling"])
RECOGNIZERS = Registry("recognizer", locations=["paddlevideo.modeling"])
LOSSES = Registry("loss", locations=["paddlevideo.modeling"])
DATASETS = Registry("dataset", locations=["paddlevideo.loader"])
PIPELINES = Registry("pipeline op", locations=["paddlevideo.loader"])
METRICS = Registry("metric", locations=["paddlevideo.metrics"])
OPTIMIZERS = Registry("optimizer", locations=["paddlevideo.solver"])
LRSCHEDULERS = Registry("lr schedule", locations=["paddlevideo.solver"])


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
