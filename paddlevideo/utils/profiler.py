"""``main.py -p "batch_range=[10,20];profile_path=..."``: profile a range of training steps.

PaddleVideo's option string (``key=value`` pairs separated by ``;``): ``batch_range`` ([start, end)
steps, default [10, 20]), ``profile_path`` (where the Chrome trace goes, default ``./profiler_log``),
``timer_only`` (True: throughput only; False: operator tables and a trace), ``sorted_key``
(``total``/``calls``/``max``/``min``/``ave``), ``exit_on_finished`` (stop the run after the range,
default True). ``state`` and ``tracer_option`` are accepted and have no effect with Paddle 3's profiler.
"""
import ast
import sys
from typing import Dict

from ..errors import ConfigError
from .logger import get_logger

DEFAULTS = {"batch_range": [10, 20], "profile_path": "./profiler_log", "timer_only": True,
            "sorted_key": "total", "exit_on_finished": True, "state": "All", "tracer_option": "Default"}
SORT_KEYS = {"total": "CPUTotal", "calls": "Calls", "max": "CPUMax", "min": "CPUMin", "ave": "CPUAvg"}


def parse_options(text: str) -> Dict:
    """The option string as a dict over ``DEFAULTS``; ConfigError naming a bad pair."""
    options = dict(DEFAULTS)
    for pair in filter(None, (p.strip() for p in text.split(";"))):
        key, sep, value = pair.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or key not in DEFAULTS:
            raise ConfigError(f"-p/--profiler_options: bad entry {pair!r}; keys: {sorted(DEFAULTS)}")
        if key == "batch_range":
            value = ast.literal_eval(value)
            if not (isinstance(value, list) and len(value) == 2 and 0 <= value[0] < value[1]):
                raise ConfigError(f"-p/--profiler_options: batch_range must be [start, end), got {pair!r}")
        elif key in ("timer_only", "exit_on_finished"):
            value = value.lower() in ("1", "true", "yes", "t")
        elif key == "sorted_key" and value not in SORT_KEYS:
            raise ConfigError(f"-p/--profiler_options: sorted_key must be one of {sorted(SORT_KEYS)}")
        options[key] = value
    return options


class StepProfiler:
    """Wraps ``paddle.profiler.Profiler`` over a step range; call ``step()`` after every training step."""

    def __init__(self, text: str):
        import paddle.profiler as profiler

        self.options = parse_options(text)
        start, end = self.options["batch_range"]
        self.end, self.steps = end, 0
        self._profiler = profiler.Profiler(
            scheduler=(start, end), timer_only=self.options["timer_only"],
            on_trace_ready=profiler.export_chrome_tracing(self.options["profile_path"]))
        self._profiler.start()

    def step(self) -> None:
        self._profiler.step()
        self.steps += 1
        if self.steps == self.end:
            self.finish()

    def finish(self) -> None:
        import paddle.profiler as profiler

        self._profiler.stop()
        self._profiler.summary(sorted_by=getattr(profiler.SortedKeys, SORT_KEYS[self.options["sorted_key"]]),
                               op_detail=True, time_unit="ms")
        get_logger().info("profiled steps %s; trace in %s", self.options["batch_range"],
                          self.options["profile_path"])
        if self.options["exit_on_finished"]:
            sys.exit(0)
