"""The error contract shared by every command-line entry point."""
import sys
from typing import Any, Callable

from ..errors import ConfigError, DataError, DecodeError, TrainingError


def run_reporting_errors(run: Callable[[], Any]) -> int:
    """Run ``run``; a bad config, list, weights file, video or dataset becomes one ``error:`` line and exit 2.

    Returns:
        ``run``'s exit status if it returns an int, else 0; 2 after a reported error.
    """
    try:
        status = run()
        return status if isinstance(status, int) else 0
    except (ConfigError, DecodeError, DataError, TrainingError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
