"""PaddleVideo's ``paddlevideo.utils.config`` module path, kept for user scripts: ``get_config`` and the
rest now live in :mod:`paddlevideo.config`.

``config`` is a layer above ``utils`` (it reads the registries, and may log through ``utils.logger``),
so this alias resolves its names on first access (module ``__getattr__``) instead of importing the
layer above at import time.
"""
import importlib

_NAMES = ("AttrDict", "check_config", "format_config", "get_config")

__all__ = list(_NAMES)


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module("paddlevideo.config"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
