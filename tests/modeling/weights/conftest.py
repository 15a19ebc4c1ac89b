"""Fixtures for weight-conversion tests: log capture that works whatever the logger's setup."""
import logging
from typing import List

import pytest


class LogRecords(logging.Handler):
    """Collects messages of the ``paddlevideo`` logger (which may not propagate to pytest's caplog)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def text(self) -> str:
        return "\n".join(self.messages)


@pytest.fixture
def pv_log():
    logger = logging.getLogger("paddlevideo")
    handler, level = LogRecords(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def restore_logger():
    """Undo ``setup_logger`` (called by the CLI's ``main``) so other tests see the logger unchanged."""
    logger = logging.getLogger("paddlevideo")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    for handler in list(logger.handlers):
        if handler not in saved[0]:
            logger.removeHandler(handler)
    for handler in saved[0]:
        if handler not in logger.handlers:
            logger.addHandler(handler)
    logger.setLevel(saved[1])
    logger.propagate = saved[2]
