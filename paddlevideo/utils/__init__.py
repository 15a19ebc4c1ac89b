"""PaddleVideo's ``paddlevideo.utils`` API, for user scripts written against PaddleVideo.

``get_config``, ``get_logger``, ``setup_logger``, ``AverageMeter``, ``Registry`` and ``build`` are
Paddle-free; ``save``, ``load``, ``load_ckpt``, ``mkdir``, ``get_dist_info`` and ``main_only`` import
Paddle, so they are loaded on first use -- importing this package (as ``main.py --help`` does) stays fast.
``get_config`` and ``AttrDict`` (from :mod:`paddlevideo.config`) and ``load_ckpt`` (from
``paddlevideo.modeling``) belong to layers above ``utils``: they too are resolved on first use, by
``__getattr__``, so importing ``utils`` imports no layer above it.
"""
import importlib

from ..registry import Registry, build
from .logger import get_logger, setup_logger
from .meters import AverageMeter

# name -> module relative to this package (``.modeling...`` is ``paddlevideo.modeling...``)
_LAZY = {"save": "checkpoint", "load": "checkpoint", "mkdir": "checkpoint", "get_dist_info": "runtime",
         "main_only": "runtime", "load_ckpt": ".modeling.weights.loading", "get_config": ".config",
         "AttrDict": ".config"}

__all__ = ["AverageMeter", "Registry", "build", "get_logger", "setup_logger", *sorted(_LAZY)]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
