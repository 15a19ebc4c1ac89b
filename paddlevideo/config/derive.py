"""Values that must agree across sections, filled in where a config leaves them out.

Why: a clip's frame count is the backbone's ``num_seg``, and every ``Sampler`` and the INFERENCE
section must say the same; the head reads the backbone's width; the exported input's size is the
backbone's ``img_size``. Writing each once is enough: the others are derived from the backbone here.
Where a config does give them, :func:`check_config` still verifies that they agree.
"""
import inspect
from typing import Any, Dict

from .schema import backbone_setting


def derive_agreeing_values(cfg: Dict) -> None:
    """Fill ``PIPELINE.<mode>.sample.num_seg`` (``Sampler``), ``INFERENCE.num_seg``/``target_size`` and
    ``MODEL.head.in_channels`` from ``MODEL.backbone`` where the config leaves them out (in place)."""
    backbone = (cfg.get("MODEL") or {}).get("backbone")
    if not isinstance(backbone, dict) or "name" not in backbone:
        return  # nothing to derive from; check_config reports what is missing
    head = cfg["MODEL"].get("head")
    if isinstance(head, dict):
        _fill(head, "in_channels", backbone, "embed_dim")
    for pipeline in (cfg.get("PIPELINE") or {}).values():
        sample = pipeline.get("sample") if isinstance(pipeline, dict) else None
        if isinstance(sample, dict) and sample.get("name") == "Sampler":
            _fill(sample, "num_seg", backbone, "num_seg")
    inference = cfg.get("INFERENCE")
    if isinstance(inference, dict):
        _fill(inference, "num_seg", backbone, "num_seg")
        _fill(inference, "target_size", backbone, "img_size")


def _fill(section: Dict, key: str, backbone: Dict, source: str) -> None:
    if key not in section:
        value = _backbone_value(backbone, source)
        if value is not inspect.Parameter.empty:
            section[key] = value


def _backbone_value(backbone: Dict, key: str) -> Any:
    """The backbone's value (or its constructor's default); ``Parameter.empty`` when it has none."""
    try:
        return backbone_setting(backbone, key)
    except KeyError:  # a backbone without that argument
        return inspect.Parameter.empty
