"""Configs: YAML loading with ``-o`` overrides, PaddleVideo's spellings, the schema read from the
registered constructors, the one ``check_config``, and the defaults of the run settings.

This layer sits above ``registry``/``errors``/``utils`` and below ``loader``, ``metrics``, ``solver`` and
``modeling``: it imports none of them; the registries import a component's package by name when a
check first consults them.
"""
from .check import INFERENCE_SECTIONS, check_config
from .defaults import DEFAULTS, setting
from .loading import AttrDict, format_config, get_config

__all__ = ["DEFAULTS", "INFERENCE_SECTIONS", "AttrDict", "check_config", "format_config", "get_config",
           "setting"]
