"""Logging to the console (rank 0) and to a file in the output directory, with PaddleVideo's API.

Paddle-free: ``main.py --help`` and the light tools import it.
"""
import logging
import os
import sys
from typing import Optional

LOGGER_NAME = "paddlevideo"


def _rank() -> int:
    """This process's rank as ``paddle.distributed.launch`` sets it (0 when not launched)."""
    return int(os.environ.get("PADDLE_TRAINER_ID", "0"))


def setup_logger(output: Optional[str] = None, name: str = LOGGER_NAME, level: str = "INFO",
                 filename: str = "train.log", rank: Optional[int] = None) -> logging.Logger:
    """Configure logger ``name`` (PaddleVideo's signature, plus ``filename`` and ``rank``); returns it.

    Args:
        output: a directory (the log goes to ``output/filename``), a ``.log``/``.txt`` file, or None
            for the console only.
        name: the logger.
        level: ``INFO``, ``DEBUG``, ...
        filename: the file name inside ``output`` when it is a directory.
        rank: only rank 0 logs; default: the launcher's ``PADDLE_TRAINER_ID``.
    """
    logger = logging.getLogger(name)
    logger.setLevel(getattr(logging, str(level).upper(), logging.INFO))
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    if (_rank() if rank is None else rank) != 0:
        return logger
    fmt = logging.Formatter("[%(asctime)s] %(message)s", datefmt="%m/%d %H:%M:%S")
    handlers = [logging.StreamHandler(sys.stdout)]
    if output:
        path = output if output.endswith((".log", ".txt")) else os.path.join(output, filename)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        handlers.append(logging.FileHandler(path, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    return logger


def get_logger(name: str = LOGGER_NAME, output: Optional[str] = None) -> logging.Logger:
    """The logger ``name`` (PaddleVideo's signature); set up with ``output`` if it has no handler yet."""
    logger = logging.getLogger(name)
    if output is not None and not logger.handlers:
        return setup_logger(output, name)
    return logger
