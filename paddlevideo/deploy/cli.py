"""Small helpers shared by the deployment tools (``tools/export_model.py``, ``predict.py``, ...)."""
import argparse
import logging
import sys

from ..utils.logger import get_logger


def str2bool(text) -> bool:
    """``--use_gpu``, ``--use_gpu true`` and PaddleVideo's ``--use_gpu=False`` all work."""
    if isinstance(text, bool):
        return text
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "y", "on"):
        return True
    if value in ("0", "false", "no", "n", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean (true/false), got '{text}'")


def add_flag(parser: argparse.ArgumentParser, name: str, help: str) -> None:
    """A boolean option usable bare (``--x``) or with a value (``--x False``); default False."""
    parser.add_argument(name, type=str2bool, nargs="?", const=True, default=False, help=help)


def setup_console_logging(level: str = "INFO") -> logging.Logger:
    """Send the ``paddlevideo`` logger to stderr, keeping stdout for results."""
    logger = get_logger()
    logger.setLevel(getattr(logging, level.upper(), logging.INFO))
    logger.propagate = False
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
        logger.addHandler(handler)
    return logger
