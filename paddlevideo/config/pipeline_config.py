"""The one reader of a ``PIPELINE.<mode>`` section's layout (Paddle-, decord- and OpenCV-free).

A mode has up to three stages: ``decode`` and ``sample`` (mappings with a ``name``) and ``transform``
(a list of one-key mappings ``{OpName: kwargs-or-None}``). ``Compose`` builds the ops from it and
``check_config`` checks them before anything is built, so both read the section the same way.
"""
from typing import Any, Dict, List, Tuple

from ..errors import ConfigError

STAGES = ("decode", "sample", "transform")


def _stage_op(cfg: Any, stage: str) -> Tuple[str, str, Dict]:
    where = f"PIPELINE.{stage}"
    if not isinstance(cfg, dict) or "name" not in cfg:
        raise ConfigError(f"{where}: expected a mapping with a 'name' entry, got {cfg!r}")
    return where, cfg["name"], {k: v for k, v in cfg.items() if k != "name"}


def _transform_op(item: Any, index: int) -> Tuple[str, str, Dict]:
    where = f"PIPELINE.transform[{index}]"
    if not isinstance(item, dict) or len(item) != 1:
        raise ConfigError(f"{where}: expected a one-key mapping like {{RandomCrop: {{target_size: "
                          f"224}}}}, got {item!r}")
    (name, kwargs), = item.items()
    if kwargs is not None and not isinstance(kwargs, dict):
        raise ConfigError(f"{where} ({name}): arguments must be a mapping or empty, got {kwargs!r}")
    return where, name, dict(kwargs or {})


def pipeline_ops(cfg: Any) -> List[Tuple[str, str, Dict]]:
    """``(where, op name, kwargs)`` of the decode op, the sample op and every transform, in that order.

    Raises:
        ConfigError: not a mapping, an unknown stage, a stage op without a name, a transform list that is
            not a list, or a malformed transform item; the message says where.
    """
    if not isinstance(cfg, dict):
        raise ConfigError(f"PIPELINE: expected a mapping with keys {list(STAGES)}, got {cfg!r}")
    unknown = [k for k in cfg if k not in STAGES]
    if unknown:
        raise ConfigError(f"PIPELINE: unknown key(s) {unknown}; accepted keys: {list(STAGES)}")
    ops = [_stage_op(cfg[stage], stage) for stage in STAGES[:2] if cfg.get(stage) is not None]
    transforms = cfg.get("transform") or []
    if not isinstance(transforms, list):
        raise ConfigError(f"PIPELINE.transform: expected a list of ops, got {transforms!r}")
    return ops + [_transform_op(item, i) for i, item in enumerate(transforms)]
