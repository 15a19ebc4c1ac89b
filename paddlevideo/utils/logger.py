"""Logging to the console and to ``<output_dir>/<name>.log`` (rank 0 only writes the file)."""
import logging
import os
import sys

LOGGER_NAME = "paddlevideo"


def setup_logger(output_dir: str = "", filename: str = "train.log", level: str = "INFO",
                 rank: int = 0) -> logging.Logger:
    """Configure the ``paddlevideo`` logger once per process; returns it."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(getattr(logging, str(level).upper(), logging.INFO))
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    fmt = logging.Formatter("[%(asctime)s] %(message)s", datefmt="%m/%d %H:%M:%S")
    if rank == 0:
        console = logging.StreamHandler(sys.stdout)
        console.setFormatter(fmt)
        logger.addHandler(console)
        if output_dir:
            os.makedirs(output_dir, exist_ok=True)
            file_handler = logging.FileHandler(os.path.join(output_dir, filename), encoding="utf-8")
            file_handler.setFormatter(fmt)
            logger.addHandler(file_handler)
    return logger


def get_logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)
