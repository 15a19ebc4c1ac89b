"""One place that validates a whole config before anything is built.

Keys are checked against the constructors they feed (the constructors are the schema); cross-field
rules catch what no single constructor can see: ``num_seg`` must agree across backbone, samplers and
INFERENCE; crops must equal ``img_size``; the head must read the backbone's width.
"""
import inspect
from typing import Any, Dict, Iterator, Tuple

from ..registry import (
    BACKBONES,
    DATASETS,
    HEADS,
    LRSCHEDULERS,
    METRICS,
    OPTIMIZERS,
    PIPELINES,
    RECOGNIZERS,
    ConfigError,
    check_kwargs,
)
from .pipeline_config import pipeline_ops

SECTIONS = ("MODEL", "DATASET", "PIPELINE", "OPTIMIZER", "METRIC", "INFERENCE")
DATASET_KEYS = {"batch_size", "num_workers", "valid_batch_size", "valid_num_workers", "test_batch_size",
                "test_num_workers", "train", "valid", "test", "max_failure_ratio", "label_file",
                "read_timeout"}
INFERENCE_KEYS = {"num_seg", "target_size", "views"}
# Top-level run settings and their types (everything else at the top level is a section).
TOP_LEVEL = {"model_name": str, "epochs": int, "log_interval": int, "save_interval": int,
             "val_interval": int, "output_dir": str, "log_level": str, "seed": int, "save_steps": int,
             "use_visualdl": bool, "eval_backend": str,
             "GRADIENT_ACCUMULATION": dict}
CROP_OPS = ("RandomCrop", "CenterCrop", "ThreeCrop", "MultiCenterCrop", "UniformCrop")


def _register_all() -> None:
    from .. import loader, metrics, modeling, solver  # noqa: F401  (fill the registries)


def _check_named(cfg: Any, registry, where: str, key: str = "name", injected=()) -> None:
    if not isinstance(cfg, dict) or key not in cfg:
        raise ConfigError(f"{where}: expected a mapping with '{key}', got {cfg!r}")
    target = registry.get(cfg[key])
    kwargs = {k: v for k, v in cfg.items() if k != key}
    check_kwargs(target, kwargs, f"{where} ({cfg[key]})", injected=injected)


def mode_ops(mode: str, pipeline: Dict) -> Iterator[Tuple[str, str, Dict]]:
    """``(where, op name, kwargs)`` of one mode's ops, ``where`` naming the mode (``PIPELINE.valid.sample``)."""
    for where, name, kwargs in pipeline_ops(pipeline):
        yield where.replace("PIPELINE.", f"PIPELINE.{mode}.", 1), name, kwargs


def check_sections(cfg: Dict, source: str) -> None:
    for key, value in cfg.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: section {key} must be a mapping")
        elif key in TOP_LEVEL:
            if not isinstance(value, TOP_LEVEL[key]) or (isinstance(value, bool) and TOP_LEVEL[key] is not bool):
                raise ConfigError(f"{source}: '{key}' expects {TOP_LEVEL[key].__name__}, got {value!r}")
        else:
            raise ConfigError(f"{source}: unknown section or key '{key}'. "
                              f"Sections: {list(SECTIONS)}; settings: {sorted(TOP_LEVEL)}")
    for key in ("MODEL", "DATASET", "PIPELINE", "OPTIMIZER", "METRIC", "model_name"):
        if key not in cfg:
            raise ConfigError(f"{source}: missing required section or key '{key}'")


def check_components(cfg: Dict) -> None:
    model = cfg["MODEL"]
    for key in ("framework", "backbone", "head"):
        if key not in model:
            raise ConfigError(f"MODEL: missing required key '{key}'")
    framework = {k: v for k, v in model.items() if k not in ("backbone", "head")}
    _check_named(framework, RECOGNIZERS, "MODEL", key="framework", injected=("backbone", "head"))
    from ..modeling.framework.recognizers.recognizer_transformer import read_runtime_cfg
    read_runtime_cfg(model.get("runtime_cfg"))
    _check_named(model["backbone"], BACKBONES, "MODEL.backbone")
    _check_named(model["head"], HEADS, "MODEL.head")
    unknown = set(cfg["DATASET"]) - DATASET_KEYS
    if unknown:
        raise ConfigError(f"DATASET: unknown key(s) {sorted(unknown)}; accepted: {sorted(DATASET_KEYS)}")
    for mode in ("train", "valid", "test"):
        if mode in cfg["DATASET"]:
            _check_named(cfg["DATASET"][mode], DATASETS, f"DATASET.{mode}", key="format",
                         injected=("pipeline", "num_classes", "test_mode", "read_timeout"))
    for mode, pipeline in cfg["PIPELINE"].items():
        for where, name, kwargs in mode_ops(mode, pipeline):
            check_kwargs(PIPELINES.get(name), kwargs, f"{where} ({name})")
    opt = dict(cfg["OPTIMIZER"])
    lr = opt.pop("learning_rate", None)
    if lr is None:
        raise ConfigError("OPTIMIZER: missing required key 'learning_rate'")
    if isinstance(lr, dict):
        _check_named(lr, LRSCHEDULERS, "OPTIMIZER.learning_rate", injected=("iters_per_epoch", "epochs"))
    _check_named(opt, OPTIMIZERS, "OPTIMIZER", injected=("learning_rate", "model"))
    from ..solver.optimizer import build_grad_clip
    build_grad_clip(opt.get("grad_clip"))
    _check_named(cfg["METRIC"], METRICS, "METRIC")
    if set(cfg.get("INFERENCE", {})) - INFERENCE_KEYS:
        raise ConfigError(f"INFERENCE: unknown key(s) {sorted(set(cfg['INFERENCE']) - INFERENCE_KEYS)}")


def _constructor_keys(target) -> set:
    params = inspect.signature(target).parameters.values()
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def schema_keys(cfg: Dict, path: Tuple[str, ...]) -> set:
    """Keys a mapping at ``path`` may hold even when the file leaves them out (for ``-o``)."""
    _register_all()
    fixed = {(): set(TOP_LEVEL), ("DATASET",): DATASET_KEYS, ("INFERENCE",): INFERENCE_KEYS}
    if path in fixed:
        return set(fixed[path])
    node = cfg
    for key in path:
        node = node[int(key)] if isinstance(node, list) else node.get(key, {})
    if path == ("MODEL",) and "framework" in node:
        return _constructor_keys(RECOGNIZERS.get(node["framework"])) | {"framework"}
    named = {("MODEL", "backbone"): BACKBONES, ("MODEL", "head"): HEADS, ("OPTIMIZER",): OPTIMIZERS,
             ("OPTIMIZER", "learning_rate"): LRSCHEDULERS, ("METRIC",): METRICS}
    if path in named and "name" in node:
        return _constructor_keys(named[path].get(node["name"]))
    if len(path) == 2 and path[0] == "DATASET" and "format" in node:
        return _constructor_keys(DATASETS.get(node["format"])) - {"pipeline", "num_classes", "test_mode"}
    if len(path) == 3 and path[0] == "PIPELINE" and path[2] in ("decode", "sample") and "name" in node:
        return _constructor_keys(PIPELINES.get(node["name"]))
    if len(path) == 5 and path[0] == "PIPELINE" and path[2] == "transform":
        return _constructor_keys(PIPELINES.get(path[4]))
    return set()


def backbone_setting(backbone: Dict, key: str) -> Any:
    """``MODEL.backbone[key]``, or the backbone class's default when the config leaves it out: the one
    place that knows a model's ``num_seg``, ``img_size``, ``embed_dim``, ``in_channels``."""
    if key in backbone:
        return backbone[key]
    _register_all()
    return inspect.signature(BACKBONES.get(backbone["name"])).parameters[key].default


def check_agreement(cfg: Dict) -> None:
    """Cross-field rules between backbone, head, pipelines and INFERENCE."""
    backbone, head = cfg["MODEL"]["backbone"], cfg["MODEL"]["head"]
    num_seg, img_size, embed_dim = (backbone_setting(backbone, key) for key in ("num_seg", "img_size", "embed_dim"))
    if head.get("in_channels") != embed_dim:
        raise ConfigError(f"MODEL.head.in_channels ({head.get('in_channels')}) must equal "
                          f"MODEL.backbone.embed_dim ({embed_dim})")
    for mode, pipeline in cfg["PIPELINE"].items():
        for where, name, kwargs in mode_ops(mode, pipeline):
            if (name == "Sampler" or "num_seg" in kwargs) and kwargs.get("num_seg") != num_seg:
                raise ConfigError(f"{where}.num_seg ({kwargs.get('num_seg')}) must equal "
                                  f"MODEL.backbone.num_seg ({num_seg})")
            if name in CROP_OPS and kwargs.get("target_size") != img_size:
                raise ConfigError(f"{where} ({name}).target_size ({kwargs.get('target_size')})"
                                  f" must equal MODEL.backbone.img_size ({img_size})")
    runtime_num_seg = ((cfg["MODEL"].get("runtime_cfg") or {}).get("test") or {}).get("num_seg")
    if runtime_num_seg is not None and runtime_num_seg != num_seg:
        raise ConfigError(f"MODEL.runtime_cfg.test.num_seg ({runtime_num_seg}) must equal "
                          f"MODEL.backbone.num_seg ({num_seg})")
    inference = cfg.get("INFERENCE", {})
    for key, expected in (("num_seg", num_seg), ("target_size", img_size)):
        if key in inference and inference[key] != expected:
            raise ConfigError(f"INFERENCE.{key} ({inference[key]}) must equal the model's ({expected})")


def check_config(cfg: Dict, source: str = "config") -> None:
    """Validate ``cfg``; raise a ConfigError saying which key is wrong and what was expected."""
    _register_all()
    check_sections(cfg, source)
    check_components(cfg)
    check_agreement(cfg)
