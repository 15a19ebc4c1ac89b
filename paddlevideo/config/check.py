"""One place that validates a whole config before anything is built.

Keys are checked against the constructors they feed (the constructors are the schema, read through
the registries); cross-field rules catch what no single constructor can see: ``num_seg`` must agree
across backbone, samplers and INFERENCE; crops must equal ``img_size``; the head must read the
backbone's width. A caller may check only the sections it uses (``INFERENCE_SECTIONS`` for a
prediction with an exported model): the registries of the others, and the code behind them, are not
imported.
"""
from typing import Any, Collection, Dict, FrozenSet, Iterator, Optional, Tuple

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
    check_kwargs,
)
from .pipeline_config import pipeline_ops
from .schema import (
    DATASET_INJECTED,
    DATASET_KEYS,
    INFERENCE_KEYS,
    REQUIRED,
    SECTIONS,
    TOP_LEVEL,
    backbone_setting,
)

CROP_OPS = ("RandomCrop", "CenterCrop", "ThreeCrop", "MultiCenterCrop", "UniformCrop")
# What predict.py needs of a config to run an exported model: the test pipeline and INFERENCE.
INFERENCE_SECTIONS = ("PIPELINE.test", "INFERENCE")


class Scope:
    """The sections a check covers: names of ``SECTIONS``, ``PIPELINE.<mode>`` for one pipeline mode."""

    def __init__(self, sections: Optional[Collection[str]] = None):
        sections = SECTIONS if sections is None else tuple(sections)
        for item in sections:
            if item.split(".")[0] not in SECTIONS or item.count(".") > (item.startswith("PIPELINE.")):
                raise ValueError(f"unknown config section '{item}'; sections: {list(SECTIONS)} "
                                 f"or PIPELINE.<mode>")
        self.sections: FrozenSet[str] = frozenset(s.split(".")[0] for s in sections)
        self.modes: Optional[FrozenSet[str]] = (
            None if "PIPELINE" in sections else frozenset(s.split(".")[1] for s in sections if "." in s))

    def __contains__(self, section: str) -> bool:
        return section in self.sections

    def pipelines(self, cfg: Dict) -> Iterator[Tuple[str, Any]]:
        """``(mode, pipeline)`` of the modes in scope."""
        for mode, pipeline in cfg.get("PIPELINE", {}).items():
            if self.modes is None or mode in self.modes:
                yield mode, pipeline


def _check_named(cfg: Any, registry: Registry, where: str, key: str = "name", injected=()) -> None:
    if not isinstance(cfg, dict) or key not in cfg:
        raise ConfigError(f"{where}: expected a mapping with '{key}', got {cfg!r}")
    target = registry.get(cfg[key])
    kwargs = {k: v for k, v in cfg.items() if k != key}
    check_kwargs(target, kwargs, f"{where} ({cfg[key]})", injected=injected)
    validate = registry.validator(cfg[key])
    if validate is not None:
        validate(kwargs)


def mode_ops(mode: str, pipeline: Dict) -> Iterator[Tuple[str, str, Dict]]:
    """``(where, op name, kwargs)`` of one mode's ops, ``where`` naming the mode (``PIPELINE.valid.sample``)."""
    for where, name, kwargs in pipeline_ops(pipeline):
        yield where.replace("PIPELINE.", f"PIPELINE.{mode}.", 1), name, kwargs


def check_sections(cfg: Dict, source: str, scope: Optional[Scope] = None) -> None:
    scope = scope or Scope()
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
    for key in [s for s in REQUIRED if s in scope] + ["model_name"]:
        if key not in cfg:
            raise ConfigError(f"{source}: missing required section or key '{key}'")


def check_model(model: Dict) -> None:
    for key in ("framework", "backbone", "head"):
        if key not in model:
            raise ConfigError(f"MODEL: missing required key '{key}'")
    framework = {k: v for k, v in model.items() if k not in ("backbone", "head")}
    _check_named(framework, RECOGNIZERS, "MODEL", key="framework", injected=("backbone", "head"))
    _check_named(model["backbone"], BACKBONES, "MODEL.backbone")
    _check_named(model["head"], HEADS, "MODEL.head")


def check_dataset(dataset: Dict) -> None:
    unknown = set(dataset) - DATASET_KEYS
    if unknown:
        raise ConfigError(f"DATASET: unknown key(s) {sorted(unknown)}; accepted: {sorted(DATASET_KEYS)}")
    for mode in ("train", "valid", "test"):
        if mode in dataset:
            _check_named(dataset[mode], DATASETS, f"DATASET.{mode}", key="format", injected=DATASET_INJECTED)


def check_optimizer(optimizer: Dict) -> None:
    opt = dict(optimizer)
    lr = opt.pop("learning_rate", None)
    if lr is None:
        raise ConfigError("OPTIMIZER: missing required key 'learning_rate'")
    if isinstance(lr, dict):
        _check_named(lr, LRSCHEDULERS, "OPTIMIZER.learning_rate", injected=("iters_per_epoch", "epochs"))
    _check_named(opt, OPTIMIZERS, "OPTIMIZER", injected=("learning_rate", "model"))


def check_components(cfg: Dict, scope: Optional[Scope] = None) -> None:
    """Every component in scope against its constructor (and the check registered with it)."""
    scope = scope or Scope()
    if "MODEL" in scope:
        check_model(cfg["MODEL"])
    if "DATASET" in scope:
        check_dataset(cfg["DATASET"])
    for mode, pipeline in scope.pipelines(cfg):
        for where, name, kwargs in mode_ops(mode, pipeline):
            check_kwargs(PIPELINES.get(name), kwargs, f"{where} ({name})")
    if "OPTIMIZER" in scope:
        check_optimizer(cfg["OPTIMIZER"])
    if "METRIC" in scope:
        _check_named(cfg["METRIC"], METRICS, "METRIC")
    if "INFERENCE" in scope and set(cfg.get("INFERENCE", {})) - INFERENCE_KEYS:
        raise ConfigError(f"INFERENCE: unknown key(s) {sorted(set(cfg['INFERENCE']) - INFERENCE_KEYS)}")


def _model_geometry(cfg: Dict, scope: Scope) -> Tuple[Any, Any, str]:
    """``(num_seg, img_size, owner)`` the pipelines must agree with: the backbone's when MODEL is in
    scope, else INFERENCE's (None for a key it leaves out: nothing to check against)."""
    if "MODEL" in scope:
        backbone = cfg["MODEL"]["backbone"]
        return backbone_setting(backbone, "num_seg"), backbone_setting(backbone, "img_size"), "MODEL.backbone"
    inference = cfg.get("INFERENCE", {})
    return inference.get("num_seg"), inference.get("target_size"), "INFERENCE"


def check_head_width(cfg: Dict) -> None:
    """The head reads the backbone's width."""
    backbone, head = cfg["MODEL"]["backbone"], cfg["MODEL"]["head"]
    embed_dim = backbone_setting(backbone, "embed_dim")
    if head.get("in_channels") != embed_dim:
        raise ConfigError(f"MODEL.head.in_channels ({head.get('in_channels')}) must equal "
                          f"MODEL.backbone.embed_dim ({embed_dim})")


def check_model_agreement(cfg: Dict) -> None:
    """``runtime_cfg`` and INFERENCE agree with the backbone."""
    backbone = cfg["MODEL"]["backbone"]
    num_seg, img_size = backbone_setting(backbone, "num_seg"), backbone_setting(backbone, "img_size")
    runtime_num_seg = ((cfg["MODEL"].get("runtime_cfg") or {}).get("test") or {}).get("num_seg")
    if runtime_num_seg is not None and runtime_num_seg != num_seg:
        raise ConfigError(f"MODEL.runtime_cfg.test.num_seg ({runtime_num_seg}) must equal "
                          f"MODEL.backbone.num_seg ({num_seg})")
    inference = cfg.get("INFERENCE", {})
    for key, expected in (("num_seg", num_seg), ("target_size", img_size)):
        if key in inference and inference[key] != expected:
            raise ConfigError(f"INFERENCE.{key} ({inference[key]}) must equal the model's ({expected})")


def check_agreement(cfg: Dict, scope: Optional[Scope] = None) -> None:
    """Cross-field rules between backbone, head, pipelines and INFERENCE (those in scope)."""
    scope = scope or Scope()
    if "MODEL" in scope:
        check_head_width(cfg)
    num_seg, img_size, owner = _model_geometry(cfg, scope)
    size_key = "img_size" if owner == "MODEL.backbone" else "target_size"
    for mode, pipeline in scope.pipelines(cfg):
        for where, name, kwargs in mode_ops(mode, pipeline):
            if (num_seg is not None and (name == "Sampler" or "num_seg" in kwargs)
                    and kwargs.get("num_seg") != num_seg):
                raise ConfigError(f"{where}.num_seg ({kwargs.get('num_seg')}) must equal "
                                  f"{owner}.num_seg ({num_seg})")
            if img_size is not None and name in CROP_OPS and kwargs.get("target_size") != img_size:
                raise ConfigError(f"{where} ({name}).target_size ({kwargs.get('target_size')})"
                                  f" must equal {owner}.{size_key} ({img_size})")
    if "MODEL" in scope:
        check_model_agreement(cfg)


def check_config(cfg: Dict, source: str = "config", sections: Optional[Collection[str]] = None) -> None:
    """Validate ``cfg``; raise a ConfigError saying which key is wrong and what was expected.

    Args:
        cfg: the whole config.
        source: the file, for messages.
        sections: the sections to check (default all): names of ``SECTIONS`` or ``PIPELINE.<mode>``,
            e.g. ``INFERENCE_SECTIONS``. The top-level keys are always checked.
    """
    scope = Scope(sections)
    check_sections(cfg, source, scope)
    check_components(cfg, scope)
    check_agreement(cfg, scope)
