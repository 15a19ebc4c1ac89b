"""The config's schema: fixed key sets, and the constructor signatures of the registered components.

The constructors are the schema: a component's keys are its keyword arguments. Reading them goes
through the registries, which import the component's package on first lookup, so only the registries
a caller consults get filled.
"""
import inspect
from typing import Any, Dict, Optional, Tuple

from ..errors import ConfigError
from ..registry import (
    BACKBONES,
    DATASETS,
    HEADS,
    LRSCHEDULERS,
    METRICS,
    OPTIMIZERS,
    PIPELINES,
    RECOGNIZERS,
    Registry,
)

SECTIONS = ("MODEL", "DATASET", "PIPELINE", "OPTIMIZER", "METRIC", "INFERENCE")
REQUIRED = ("MODEL", "DATASET", "PIPELINE", "OPTIMIZER", "METRIC")
DATASET_KEYS = {"batch_size", "num_workers", "valid_batch_size", "valid_num_workers", "test_batch_size",
                "test_num_workers", "train", "valid", "test", "max_failure_ratio", "label_file",
                "read_timeout"}
INFERENCE_KEYS = {"num_seg", "target_size", "views"}
# Top-level run settings and their types (everything else at the top level is a section).
TOP_LEVEL = {"model_name": str, "epochs": int, "log_interval": int, "save_interval": int,
             "val_interval": int, "output_dir": str, "log_level": str, "seed": int, "save_steps": int,
             "use_visualdl": bool, "eval_backend": str,
             "GRADIENT_ACCUMULATION": dict}
# Arguments the builders pass to a dataset rather than the config.
DATASET_INJECTED = ("pipeline", "num_classes", "test_mode", "read_timeout")


def constructor_keys(registry: Registry, name: Any) -> Optional[set]:
    """The keyword names component ``name`` accepts; None for an unknown name (``check_config``
    reports it)."""
    if not isinstance(name, str) or name not in registry:
        return None
    params = inspect.signature(registry.get(name)).parameters.values()
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _known_keys(registry: Registry, name: Any) -> set:
    """``constructor_keys`` of a name the check must know (an unknown one raises, naming the choices)."""
    registry.get(name)
    return constructor_keys(registry, name)


def schema_keys(cfg: Dict, path: Tuple[str, ...]) -> set:
    """Keys a mapping at ``path`` may hold even when the file leaves them out (for ``-o``)."""
    fixed = {(): set(TOP_LEVEL), ("DATASET",): DATASET_KEYS, ("INFERENCE",): INFERENCE_KEYS}
    if path in fixed:
        return set(fixed[path])
    node = cfg
    for key in path:
        node = node[int(key)] if isinstance(node, list) else node.get(key, {})
    if path == ("MODEL",) and "framework" in node:
        return _known_keys(RECOGNIZERS, node["framework"]) | {"framework"}
    named = {("MODEL", "backbone"): BACKBONES, ("MODEL", "head"): HEADS, ("OPTIMIZER",): OPTIMIZERS,
             ("OPTIMIZER", "learning_rate"): LRSCHEDULERS, ("METRIC",): METRICS}
    if path in named and "name" in node:
        return _known_keys(named[path], node["name"])
    if len(path) == 2 and path[0] == "DATASET" and "format" in node:
        return _known_keys(DATASETS, node["format"]) - {"pipeline", "num_classes", "test_mode"}
    if len(path) == 3 and path[0] == "PIPELINE" and path[2] in ("decode", "sample") and "name" in node:
        return _known_keys(PIPELINES, node["name"])
    if len(path) == 5 and path[0] == "PIPELINE" and path[2] == "transform":
        return _known_keys(PIPELINES, path[4])
    return set()


def backbone_setting(backbone: Dict, key: str) -> Any:
    """``MODEL.backbone[key]``, or the backbone class's default when the config leaves it out: the one
    place that knows a model's ``num_seg``, ``img_size``, ``embed_dim``, ``in_channels`` (the backbone
    registry, and with it the model code, is consulted only for a key the config leaves out)."""
    if key in backbone:
        return backbone[key]
    if not isinstance(backbone, dict) or "name" not in backbone:
        raise ConfigError(f"MODEL.backbone: expected a mapping with 'name', got {backbone!r}")
    return inspect.signature(BACKBONES.get(backbone["name"])).parameters[key].default
