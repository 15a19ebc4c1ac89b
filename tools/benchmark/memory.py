"""Peak memory and time of one training step with and without ``MODEL.backbone.recompute``.

    python tools/benchmark/memory.py [-c CONFIG] [--batch_size 2] [--steps 2] [--threads 2]

Defaults to ViT-B/16 TokShift 8x224 (400 classes), batch 2, on 2 CPU threads. Each configuration runs
in its own subprocess, so each peak belongs to one configuration: the process's resident-set
high-water mark (``VmHWM`` in ``/proc/self/status``, else ``ru_maxrss``) after ``--steps`` training
steps (forward, backward, optimizer). "Before" is the resident set once the model, optimizer and
input are built, so "peak - before" is what the step adds (activations, gradients, optimizer state).
Times are medians over the steps after the first (warm-up) one; s/step (wall clock) includes the
optimizer; "CPU s/step" is the process's CPU time, less sensitive to other work on the machine, which
slows the steps (the load average is printed) but does not change the peaks.
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Tuple

from paddlevideo.cpu import setup_cpu, setup_cpu_device

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DEFAULT_CONFIG = os.path.join("configs", "recognition", "tokshift", "k400_tokshift_div4_8x32_base_224.yaml")
RESULT_PREFIX = "BENCHMARK_MEMORY_RESULT "
MODES = {"plain": False, "recompute": True}


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def proc_status_mib(field: str) -> float:
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``) in MiB; NaN where unavailable."""
    try:
        with open("/proc/self/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def peak_rss_mib() -> float:
    """The process's resident-set high-water mark in MiB."""
    peak = proc_status_mib("VmHWM")
    if peak == peak:  # not NaN
        return peak
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / 1024 ** 2 if sys.platform == "darwin" else maxrss / 1024  # bytes on macOS, KiB on Linux


def measure(cfg: Dict, batch_size: int, steps: int) -> Dict[str, float]:
    """Build the model and optimizer from ``cfg``, run ``steps`` training steps; memory and time."""
    from train import timed_step, training_setup  # tools/benchmark/train.py: each child runs as a script

    model, optimizer, batch = training_setup(cfg, batch_size, steps)
    before = proc_status_mib("VmRSS")
    times, cpu_times = [], []  # (forward, backward, optimizer) seconds per step; process CPU seconds
    for _ in range(steps):
        cpu0 = time.process_time()
        times.append(timed_step(model, optimizer, batch))
        cpu_times.append(time.process_time() - cpu0)
    timed = times[1:] or times
    forward, backward, opt = (statistics.median(t[i] for t in timed) for i in range(3))
    return {"before_mib": before, "peak_mib": peak_rss_mib(), "forward_s": forward, "backward_s": backward,
            "step_s": forward + backward + opt, "cpu_s": statistics.median(cpu_times[1:] or cpu_times),
            "timed_steps": len(timed)}


def child(args: argparse.Namespace) -> int:
    """One configuration, in this process: print its result as one JSON line."""
    from paddlevideo.config import get_config

    overrides = [f"MODEL.backbone.recompute={MODES[args.mode]}",
                 "MODEL.head.std=0.02"]  # a zero classifier would make the backbone's backward trivial
    cfg = get_config(args.config, overrides=overrides)
    result = measure(cfg, args.batch_size, args.steps)
    print(RESULT_PREFIX + json.dumps({"mode": args.mode, "model_name": cfg["model_name"], **result}),
          flush=True)
    return 0


def run_child(args: argparse.Namespace, mode: str) -> Dict:
    """Run one configuration in a fresh interpreter and parse its result line."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", "--mode", mode, "-c", args.config,
           "--batch_size", str(args.batch_size), "--steps", str(args.steps), "--threads", str(args.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    raise RuntimeError(f"benchmark of '{mode}' failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")


def format_table(rows: List[Dict], args: argparse.Namespace, load: Tuple[float, float]) -> str:
    """A Markdown table, plus the CPU and the settings it was measured with."""
    lines = [f"{rows[0]['model_name']}: batch {args.batch_size}, {args.threads} threads, CPU: {cpu_model()} "
             f"({os.cpu_count()} logical CPUs; 1-min load average {load[0]:.1f} before, {load[1]:.1f} after)",
             f"peak = resident-set high-water mark after {args.steps} training step(s); "
             f"time = median of {rows[0]['timed_steps']} step(s) after warm-up",
             "",
             "| backbone.recompute | RSS before step (MiB) | peak RSS (MiB) | peak - before (MiB) "
             "| forward s | backward s | s/step | CPU s/step |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {MODES[row['mode']]} | {row['before_mib']:.0f} | {row['peak_mib']:.0f} | "
                     f"{row['peak_mib'] - row['before_mib']:.0f} | {row['forward_s']:.2f} | "
                     f"{row['backward_s']:.2f} | {row['step_s']:.2f} | {row['cpu_s']:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", default=DEFAULT_CONFIG)
    parser.add_argument("--batch_size", type=int, default=2)
    parser.add_argument("--steps", type=int, default=2, help="training steps per configuration (>= 1)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--modes", nargs="+", choices=sorted(MODES), default=list(MODES))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=sorted(MODES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be >= 1")
    setup_cpu(threads=args.threads)  # before Paddle is imported: eager kernels read it once
    setup_cpu_device()  # a CPU benchmark: the CPU-only settings too
    from paddlevideo.utils.cli import run_reporting_errors

    if args.child:
        return run_reporting_errors(lambda: child(args))

    def run():
        load_before = os.getloadavg()[0]  # other work on the machine slows the steps, not the peaks
        rows = [run_child(args, mode) for mode in args.modes]
        print(format_table(rows, args, (load_before, os.getloadavg()[0])))

    return run_reporting_errors(run)


if __name__ == "__main__":
    sys.exit(main())
