"""YAML configs: safe loading, ``-o key=value`` overrides, and one ``check_config``.

The layout is PaddleVideo's (sections MODEL, DATASET, PIPELINE, OPTIMIZER, METRIC, INFERENCE plus
top-level run settings). Every key is checked against the constructor it is passed to, so a typo fails
before any work starts, with the nearest valid names.
"""
import ast
import difflib
import json
import logging
import os
import re
from typing import Any, Collection, Iterable, Optional

import yaml

from ..errors import ConfigError
from .check import Scope, check_config
from .derive import derive_agreeing_values
from .paddlevideo_compat import apply_paddlevideo_compat
from .schema import schema_keys


class AttrDict(dict):
    """A dict whose keys can also be read as attributes (``cfg.MODEL.backbone``)."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-6`` (no dot) as a float, as PaddleVideo configs write it."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def to_attrdict(obj: Any) -> Any:
    if isinstance(obj, dict):
        return AttrDict({k: to_attrdict(v) for k, v in obj.items()})
    if isinstance(obj, list):
        return [to_attrdict(v) for v in obj]
    return obj


def parse_value(text: str) -> Any:
    """``-o`` values are Python literals (``8``, ``0.1``, ``[1, 2]``, ``None``); anything else is a string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _child(node: Any, key: str, path: str, addable: Iterable[str] = ()) -> Any:
    """``key`` checked against ``node``: a list index, an existing key, or a key in ``addable``."""
    if isinstance(node, list):
        if not key.isdigit() or int(key) >= len(node):
            raise ConfigError(f"-o {path}: '{key}' is not an index of a list of {len(node)} items")
        return int(key)
    if not isinstance(node, dict):
        raise ConfigError(f"-o {path}: cannot descend into '{key}' of a {type(node).__name__}")
    if key not in node and key not in addable:
        close = difflib.get_close_matches(key, sorted({str(k) for k in node} | set(addable)), n=3)
        raise ConfigError(f"-o {path}: no key '{key}' here. Nearest existing keys: "
                          f"{close or sorted(map(str, node))}")
    return key


def apply_override(cfg: dict, item: str) -> None:
    """Apply one ``a.b.c=value`` override.

    The key path must exist, except that the last key may be new when the schema accepts it there
    (e.g. ``MODEL.backbone.attn_impl`` or ``DATASET.test_num_workers`` left out of the file).
    """
    if "=" not in item:
        raise ConfigError(f"-o expects KEY=VALUE, got '{item}'")
    path, text = item.split("=", 1)
    keys = path.strip().split(".")
    node = cfg
    for key in keys[:-1]:
        node = node[_child(node, key, path)]
    # the schema (and the registry it reads) is consulted only for a key the file leaves out
    addable = _addable_keys(cfg, keys[:-1]) if isinstance(node, dict) and keys[-1] not in node else ()
    node[_child(node, keys[-1], path, addable=addable)] = to_attrdict(parse_value(text.strip()))


def _addable_keys(cfg: dict, parents) -> set:
    """Keys the schema accepts under ``parents`` (none if that part of the config is itself invalid,
    which check_config then reports)."""
    try:
        return schema_keys(cfg, tuple(parents))
    except ConfigError:
        return set()


def format_config(cfg: dict) -> str:
    """The config as YAML, for the log."""
    return yaml.safe_dump(json.loads(json.dumps(cfg)), sort_keys=False).rstrip()


def get_config(fname: str, overrides: Optional[Iterable[str]] = None, show: bool = True, *,
               check: bool = True, check_sections: Optional[Collection[str]] = None) -> AttrDict:
    """Load a YAML config, apply ``-o`` overrides and validate it (PaddleVideo's signature).

    Args:
        fname: YAML file.
        overrides: ``["MODEL.backbone.depth=2", ...]``.
        show: log the resulting config (on the ``paddlevideo`` logger).
        check: run :func:`check_config` (keyword-only, so PaddleVideo's positional ``show`` can never
            turn validation off).
        check_sections: the sections to check (default all), e.g. ``INFERENCE_SECTIONS`` for a
            prediction with an exported model: the registries (and the code) of the others are not
            imported, and PaddleVideo's MODEL spellings are left as they are.
    """
    scope = Scope(check_sections)
    if not os.path.isfile(fname):
        raise ConfigError(f"config file not found: {fname}")
    with open(fname, encoding="utf-8") as f:
        try:
            raw = yaml.load(f, Loader=_Loader)
        except yaml.YAMLError as err:
            raise ConfigError(f"config {fname} is not valid YAML: {err}") from err
    if not isinstance(raw, dict):
        raise ConfigError(f"config {fname} must be a mapping of sections, got {type(raw).__name__}")
    cfg = to_attrdict(raw)
    for item in overrides or []:
        apply_override(cfg, item)
    apply_paddlevideo_compat(cfg, model="MODEL" in scope)  # PaddleVideo's spellings, before the check
    if "MODEL" in scope:
        derive_agreeing_values(cfg)
    cfg.setdefault("output_dir", os.path.join("output", str(cfg.get("model_name", "model"))))
    if check:
        check_config(cfg, source=fname, sections=check_sections)
    if show:
        logging.getLogger("paddlevideo").info("config %s (overrides %s):\n%s", fname, list(overrides or []),
                                              format_config(cfg))
    return cfg
