"""Check the GPU paths end to end in a few minutes: ``python tools/check_gpu.py`` (``make check-gpu``).

Every case runs what a user runs -- ``main.py``, ``tools/export_model.py``, ``tools/predict.py`` -- as a
subprocess, on a tiny TokShift (the demo config shrunk to 32 px, 4 frames, depth 2) and demo videos that
``data/generate_demo_data.py`` writes into a temporary directory, and judges it from what the command
logs and writes: exit status 0, every logged training loss finite, validation scoring every video, AMP
really engaged, and where two runs must agree (recompute, gradient accumulation and data parallel against
the float32 run; fused against explicit attention; Paddle Inference against ``main.py --test``; fp16
against fp32 inference) a difference within a tolerance. It prints one table and exits 1 if any case
failed.

Peak GPU memory is Paddle's allocator peak (``paddle.device.cuda.max_memory_allocated``), printed at exit
by a shim that runs the script with ``runpy``. Without a usable GPU the GPU-only cases are listed as
skipped, each with its reason, and the others run on CPU. ``--quick`` keeps the float32 training and the
float32 attention parity only: the test suite's smoke test of this tool.

    python tools/check_gpu.py [--quick] [--workdir DIR]
"""
import argparse
import csv
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

CHILD_ENV = dict(os.environ)  # taken before paddlevideo's CPU setup edits this process's environment
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from paddlevideo.config import format_config, get_config  # noqa: E402  (after CHILD_ENV)

DEMO_CONFIG = os.path.join(ROOT, "configs", "recognition", "tokshift", "demo_tokshift_tiny.yaml")
NUM_SEG, SIZE, EMBED, BATCH = 4, 32, 64, 8
LOSS_TOL = 1e-4  # validation loss against the float32 run (recompute, accumulation, data parallel)
FP32_TOL = 1e-4  # class probabilities of two float32 paths
FP16_TOL = 2e-2  # class probabilities of a float16 path against its reference
RUN_TIMEOUT = 600
PEAK_TAG = "check_gpu peak GPU memory: "
SHIM = f'''"""Run a script as __main__, then print this process's peak GPU memory (tools/check_gpu.py)."""
import os
import runpy
import sys

script = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(os.path.abspath(script))
try:
    runpy.run_path(script, run_name="__main__")
finally:
    import paddle

    if paddle.is_compiled_with_cuda() and "gpu" in paddle.get_device():
        print("{PEAK_TAG}%d" % paddle.device.cuda.max_memory_allocated(), flush=True)
'''
# paddlevideo/utils/gpu.py answers what the card computes, in a child so this process never holds a
# CUDA context while the cases measure memory.
PROBE = """
import json
import paddlevideo
import paddle
from paddlevideo.utils.gpu import amp_dtype_supported, flash_attention_supported, gpu_capability

info = {"paddle": paddle.__version__, "cuda": paddle.is_compiled_with_cuda(), "gpus": 0}
if info["cuda"]:
    info["gpus"] = paddle.device.cuda.device_count()
if info["gpus"]:
    paddle.set_device("gpu:0")
    capability = gpu_capability()
    info.update(name=paddle.device.cuda.get_device_name(0), capability=list(capability),
                amp={d: amp_dtype_supported(d, capability) for d in ("float16", "bfloat16")},
                flash=flash_attention_supported("float16", capability))
print(json.dumps(info))
"""

STEP = re.compile(r"epoch \[\d+/\d+\] batch \d+/\d+ loss: (\S+) .*?batch_time: ([\d.]+)s")
VALIDATION = re.compile(r"validation: (\d+) of (\d+) videos scored, \d+ failed: loss (\S+)")
STOPPED = re.compile(r"SIGTERM received: stopped at epoch (\d+), batch (\d+)")
TESTED = re.compile(r"\[TEST\] (\d+) of (\d+) videos scored")
INFERENCE_TIME = re.compile(r"inference\s+median\s+([\d.]+) ms")
PEAK = re.compile(re.escape(PEAK_TAG) + r"(\d+)")


@dataclass
class Row:
    """One line of the table."""

    case: str = ""  # set by run_case from the Case
    status: str = "ok"  # ok | FAIL | skipped
    loss: str = "-"
    parity: str = "-"
    step_time: str = "-"
    peak_memory: str = "-"
    note: str = ""

    def fail(self, reason: str) -> "Row":
        self.status, self.note = "FAIL", reason
        return self


@dataclass
class Machine:
    """What the probe found: the GPUs Paddle sees and what the first one computes."""

    paddle: str
    gpus: int = 0
    cuda: bool = False
    name: str = ""
    capability: Optional[List[int]] = None
    amp: Dict[str, bool] = field(default_factory=dict)
    flash: bool = False

    def describe(self) -> str:
        if not self.gpus:
            return f"no GPU ({self.no_gpu_reason()}); Paddle {self.paddle}"
        major, minor = self.capability
        dtypes = ", ".join(d for d, ok in self.amp.items() if ok) or "none"
        return (f"{self.gpus} GPU(s), the first {self.name} (compute capability {major}.{minor}; AMP dtypes: "
                f"{dtypes}; FlashAttention: {'yes' if self.flash else 'no'}); Paddle {self.paddle}")

    def no_gpu_reason(self) -> str:
        return "no CUDA device visible" if self.cuda else "Paddle is built without CUDA"


@dataclass
class Run:
    """A finished command: exit status, console output and the log file it wrote."""

    code: int
    output: str
    log: str = ""


@dataclass
class Check:
    """The shared state of one check: paths, the machine, and what later cases compare with."""

    work: str
    config: str
    data: str
    machine: Machine
    model_name: str
    best: Optional[str] = None  # the float32 run's best checkpoint
    val_loss: Dict[str, float] = field(default_factory=dict)
    scores: Dict[str, Dict[str, Dict[int, float]]] = field(default_factory=dict)

    def path(self, *parts: str) -> str:
        return os.path.join(self.work, *parts)


@dataclass
class Case:
    """A row of the check: how to run it and why it cannot run on a machine (None: it can)."""

    name: str
    run: Callable[[Check], Row]
    needs: Callable[[Machine], Optional[str]] = lambda machine: None
    quick: bool = False


# ---------------------------------------------------------------- running commands
def run_script(check: Check, script: str, args: Sequence[str], log: Optional[str] = None,
               launcher: Sequence[str] = (sys.executable,), sigterm_when: Optional[str] = None) -> Run:
    """``script args`` through the peak-memory shim, from the repository root, with the environment this
    tool was started with; ``log`` is the file the command writes (read back into ``Run.log``).

    The command runs in its own process group, so a timeout kills its workers too and ``sigterm_when``
    (text that appears in ``log``) sends SIGTERM the way a cluster does: to the whole group.
    """
    command = [*launcher, check.path("shim.py"), os.path.join(ROOT, script), *args]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as output:
        proc = subprocess.Popen(command, cwd=ROOT, env=CHILD_ENV, stdout=output, stderr=subprocess.STDOUT,
                                start_new_session=True)
        deadline = time.time() + RUN_TIMEOUT
        if sigterm_when and wait_for_text(log, sigterm_when, proc, deadline):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            code, note = proc.wait(timeout=max(deadline - time.time(), 60)), ""
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            code, note = proc.wait(), f"\ntimed out after {RUN_TIMEOUT} s"
        output.seek(0)
        return Run(code, output.read() + note, read_text(log))


def wait_for_text(path: str, text: str, proc: subprocess.Popen, deadline: float) -> bool:
    """Wait until ``text`` appears in the file at ``path``; False if the process ended or time ran out."""
    while proc.poll() is None and time.time() < deadline:
        if text in read_text(path):
            return True
        time.sleep(0.1)
    return False


def run_or_exit(command: Sequence[str], what: str) -> str:
    """Run a preparation step; its stdout, or exit with its error (nothing can be checked without it)."""
    proc = subprocess.run(command, cwd=ROOT, env=CHILD_ENV, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"check_gpu: {what} failed:\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def read_text(path: Optional[str]) -> str:
    if path is None or not os.path.isfile(path):
        return ""
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def main_args(check: Check, out: str, overrides: Sequence[str] = ()) -> List[str]:
    args = ["-c", check.config, "-o", f"output_dir={out}"]
    for item in overrides:
        args += ["-o", item]
    return args


def train(check: Check, tag: str, overrides: Sequence[str] = (), flags: Sequence[str] = (),
          launcher: Sequence[str] = (sys.executable,)) -> Run:
    """``main.py --validate`` of the tiny model, writing ``<work>/<tag>/train.log``."""
    out = check.path(tag)
    args = main_args(check, out, overrides) + ["--validate", "--seed", "0", *flags]
    return run_script(check, "main.py", args, os.path.join(out, "train.log"), launcher)


# ---------------------------------------------------------------- reading what the commands wrote
def parse_training(log: str) -> Dict:
    """Losses and step times of the logged training steps, and the last validation
    ``(scored, videos, loss)`` (None if there was none)."""
    steps = STEP.findall(log)
    validations = VALIDATION.findall(log)
    last = validations[-1] if validations else None
    return {"losses": [float(loss) for loss, _ in steps], "step_times": [float(t) for _, t in steps],
            "validation": None if last is None else (int(last[0]), int(last[1]), float(last[2]))}


def video_key(path: str) -> str:
    """``<class>/<file>``: the same video whatever prefix a tool printed it with."""
    return "/".join(os.path.normpath(path).split(os.sep)[-2:])


def csv_scores(path: str) -> Dict[str, Dict[int, float]]:
    """Class probabilities per video from ``main.py --test``'s ``test_predictions.csv``."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    ranks = [name[3:-6] for name in (rows[0] if rows else {}) if re.fullmatch(r"top\d+_class", name)]
    return {video_key(row["path"]): {int(row[f"top{k}_class"]): float(row[f"top{k}_score"]) for k in ranks}
            for row in rows}


def predict_scores(path: str) -> Dict[str, Dict[int, float]]:
    """Class probabilities per video from ``predict.py --json``."""
    with open(path, encoding="utf-8") as handle:
        results = json.load(handle)["results"]
    return {video_key(r["file"]): dict(enumerate(r["scores"])) for r in results}


def max_difference(a: Dict[str, Dict[int, float]], b: Dict[str, Dict[int, float]]) -> float:
    """Largest difference of a class probability between two runs over the same videos.

    Raises:
        ValueError: the runs scored different videos (or none).
    """
    if not a or set(a) != set(b):
        raise ValueError(f"the runs scored different videos ({len(a)} vs {len(b)})")
    return max(abs(p - b[video].get(c, math.nan)) for video, classes in a.items() for c, p in classes.items())


def peak_memory(output: str) -> str:
    found = PEAK.findall(output)
    return f"{int(found[-1]) / 2**20:.0f} MiB" if found else "-"


def last_error(run: Run) -> str:
    """The exit status and the last line the command printed (the error, for our tools)."""
    lines = [line.strip() for line in run.output.splitlines() if line.strip() and PEAK_TAG not in line]
    return f"exit {run.code}: {lines[-1][:160] if lines else 'no output'}"


# ---------------------------------------------------------------- judging
def judge_training(run: Run, reference: Optional[float] = None, tolerance: Optional[float] = LOSS_TOL) -> Row:
    """A training row: exit 0, finite losses, every validation video scored; with a ``reference``
    validation loss, the difference (failed above ``tolerance``; None only reports it)."""
    parsed = parse_training(run.log)
    row = Row(step_time=median_step_time(parsed["step_times"]), peak_memory=peak_memory(run.output))
    losses, validation = parsed["losses"], parsed["validation"]
    if losses:
        row.loss = f"{losses[-1]:.4f}"
    if run.code != 0:
        return row.fail(last_error(run))
    if not losses or not all(math.isfinite(v) for v in losses):
        return row.fail(f"training losses {losses or 'not logged'}")
    if validation is None or validation[0] != validation[1] or not math.isfinite(validation[2]):
        return row.fail(f"validation {validation or 'not logged'} (scored, videos, loss)")
    if reference is not None:
        row.parity = f"val loss {abs(validation[2] - reference):.1e}"
        if tolerance is not None and abs(validation[2] - reference) > tolerance:
            return row.fail(f"validation loss {validation[2]} vs {reference} of the float32 run (> {tolerance:g})")
        row.note = "vs float32 run" if tolerance is not None else "vs float32 run, not judged"
    return row


def median_step_time(times: List[float]) -> str:
    """Median logged step time without the first step (which builds kernels and caches)."""
    times = times[1:] or times
    return f"{statistics.median(times) * 1e3:.0f} ms" if times else "-"


def judge_scores(row: Row, scores: Dict, reference: Optional[Dict], tolerance: float, what: str) -> Row:
    """Fill ``row.parity`` with the largest probability difference to ``reference``; fail above ``tolerance``."""
    if reference is None:
        return add_note(row, f"no {what} to compare with")
    diff = max_difference(scores, reference)
    row.parity = f"prob {diff:.1e}"
    if not diff <= tolerance:
        return row.fail(f"class probabilities differ by {diff:.2e} from {what} (> {tolerance:g})")
    return add_note(row, f"vs {what}")


def add_note(row: Row, note: str) -> Row:
    row.note = "; ".join(filter(None, [row.note, note]))
    return row


# ---------------------------------------------------------------- the cases
def case_float32(check: Check) -> Row:
    run = train(check, "fp32")
    row = judge_training(run)
    if row.status == "ok":
        check.best = check.path("fp32", f"{check.model_name}_best.pdparams")
        check.val_loss["fp32"] = parse_training(run.log)["validation"][2]
        add_note(row, "GPU 0" if check.machine.gpus else "CPU")
    return row


def amp_case(level: str, dtype: str) -> Callable[[Check], Row]:
    def run_amp(check: Check) -> Row:
        run = train(check, f"amp_{level}_{dtype}", flags=["--amp", "--amp_level", level, "--amp_dtype", dtype])
        row = judge_training(run, check.val_loss.get("fp32"), tolerance=None)
        if row.status == "ok" and f"AMP level {level} ({dtype}" not in run.log:
            return row.fail("train.log does not say AMP ran (a float32 run under --amp)")
        return row
    return run_amp


def case_sigterm(check: Check) -> Row:
    """Stop a long run with SIGTERM after its first step, then finish that epoch with --resume auto."""
    out = check.path("sigterm")
    log, overrides = os.path.join(out, "train.log"), ["epochs=20", f"DATASET.batch_size={BATCH // 2}"]
    stopped = run_script(check, "main.py", main_args(check, out, overrides) + ["--validate", "--seed", "0"],
                         log, sigterm_when="epoch [1/20] batch 1/")
    match = STOPPED.search(stopped.log)
    latest = os.path.join(out, f"{check.model_name}_latest.pdopt")
    if stopped.code != 0 or match is None or not os.path.isfile(latest):
        return Row().fail(f"the stopped run: {last_error(stopped)}; latest checkpoint written: "
                          f"{os.path.isfile(latest)}")
    args = main_args(check, out, [*overrides, f"epochs={match.group(1)}"]) + ["--validate", "--seed", "0"]
    resumed = run_script(check, "main.py", args + ["--resume", "auto"], log)
    resumed.log = resumed.log.partition(f"resumed from {latest[:-len('.pdopt')]}")[2]
    if not resumed.log:
        return Row().fail(f"the resumed run did not resume from latest: {last_error(resumed)}")
    row = judge_training(resumed)
    if row.status == "ok":
        add_note(row, f"stopped at epoch {match.group(1)}, batch {match.group(2)}; resumed, finished")
    return row


def case_accumulation(check: Check) -> Row:
    overrides = [f"DATASET.batch_size={BATCH // 2}", f"GRADIENT_ACCUMULATION={{'global_batch_size': {BATCH}}}"]
    run = train(check, "accumulation", overrides)
    return judge_training(run, check.val_loss.get("fp32"))


def case_recompute(check: Check) -> Row:
    run = train(check, "recompute", ["MODEL.backbone.recompute=True"])
    return judge_training(run, check.val_loss.get("fp32"))


def case_data_parallel(check: Check) -> Row:
    logs = check.path("dp_logs")
    launcher = [sys.executable, "-m", "paddle.distributed.launch", "--gpus", "0,1", "--log_dir", logs]
    run = train(check, "dp", [f"DATASET.batch_size={BATCH // 2}"], launcher=launcher)
    run.output += read_text(os.path.join(logs, "workerlog.0"))  # rank 0's console, with its peak memory
    return judge_training(run, check.val_loss.get("fp32"))


def attention_case(amp: bool) -> Callable[[Check], Row]:
    def run_attention(check: Check) -> Row:
        if check.best is None:
            return Row(status="skipped", note="needs the float32 run's checkpoint")
        runs = {impl: run_test(check, impl, amp) for impl in ("explicit", "fused")}
        for impl, (run, _) in runs.items():
            if run.code != 0 or not TESTED.search(run.log):
                return Row().fail(f"--test with attn_impl={impl}: {last_error(run)}")
            if amp and "AMP level O1 (float16" not in run.log:
                return Row().fail(f"--test --amp with attn_impl={impl} did not run AMP (test.log)")
        scores = {impl: csv_scores(os.path.join(out, "test_predictions.csv")) for impl, (_, out) in runs.items()}
        if not amp:
            check.scores["main.py --test"] = scores["explicit"]
        row = Row(peak_memory=peak_memory(runs["fused"][0].output), note=attention_note(check, amp))
        return judge_scores(row, scores["fused"], scores["explicit"], FP16_TOL if amp else FP32_TOL, "explicit")
    return run_attention


def attention_note(check: Check, amp: bool) -> str:
    if not check.machine.gpus:
        return "CPU: Paddle's SDPA runs its math backend"
    if amp:
        return "FlashAttention" if check.machine.flash else "no FlashAttention on this GPU: SDPA falls back"
    return "SDPA in float32 (no FlashAttention)"


def run_test(check: Check, impl: str, amp: bool) -> Tuple[Run, str]:
    """``main.py --test`` of the float32 run's best weights with ``attn_impl=impl``; (run, output dir)."""
    out = check.path(f"test_{impl}_{'amp' if amp else 'fp32'}")
    args = main_args(check, out, [f"MODEL.backbone.attn_impl={impl}"]) + ["--test", "-w", check.best]
    run = run_script(check, "main.py", args + (["--amp"] if amp else []), os.path.join(out, "test.log"))
    return run, out


def case_predict_fp32(check: Check) -> Row:
    if check.best is None:
        return Row(status="skipped", note="needs the float32 run's checkpoint")
    export = run_script(check, "tools/export_model.py", ["-c", check.config, "-p", check.best,
                                                         "-o", check.path("export")])
    if export.code != 0:
        return Row().fail(f"export_model.py: {last_error(export)}")
    return predict_row(check, "fp32", check.scores.get("main.py --test"), FP32_TOL, "main.py --test")


def case_predict_fp16(check: Check) -> Row:
    if "predict fp32" not in check.scores:
        return Row(status="skipped", note="needs the fp32 predict row")
    return predict_row(check, "fp16", check.scores["predict fp32"], FP16_TOL, "predict fp32")


def predict_row(check: Check, precision: str, reference: Optional[Dict], tolerance: float, what: str) -> Row:
    """``predict.py`` on the validation videos with the exported model; judged against ``reference``."""
    out = check.path(f"predict_{precision}.json")
    args = ["-c", check.config, "-i", os.path.join(check.data, "val.list"), "--data_prefix",
            os.path.join(check.data, "videos"), "--model_file", check.path("export", f"{check.model_name}.json"),
            "--json", out, "--benchmark", "--precision", precision]
    run = run_script(check, "tools/predict.py", args + (["--use_gpu"] if check.machine.gpus else []))
    device = "GPU" if check.machine.gpus else "CPU"
    model_line = next((line for line in run.output.splitlines() if line.startswith("Model:")), "")
    timing = INFERENCE_TIME.search(run.output)
    row = Row(step_time=f"{float(timing.group(1)):.1f} ms" if timing else "-",
              peak_memory=peak_memory(run.output), note=device)
    if run.code != 0:
        return row.fail(last_error(run))
    if device not in model_line:
        return row.fail(f"predict.py did not run on the {device}: {model_line!r}")
    scores = predict_scores(out)
    check.scores[f"predict {precision}"] = scores
    return judge_scores(row, scores, reference, tolerance, what)


def gpu_only(machine: Machine) -> Optional[str]:
    return None if machine.gpus else f"no GPU: {machine.no_gpu_reason()}"


def amp_dtype(dtype: str) -> Callable[[Machine], Optional[str]]:
    def needs(machine: Machine) -> Optional[str]:
        if not machine.gpus or machine.amp.get(dtype):
            return gpu_only(machine)
        major, minor = machine.capability
        return f"this GPU (compute capability {major}.{minor}) has no {dtype} AMP"
    return needs


def two_gpus(machine: Machine) -> Optional[str]:
    return None if machine.gpus >= 2 else f"needs 2 GPUs, {machine.gpus} visible"


CASES = [
    Case("float32 train --validate", case_float32, quick=True),
    Case("attention fused vs explicit (float32)", attention_case(amp=False), quick=True),
    *[Case(f"AMP {level} {dtype}", amp_case(level, dtype), amp_dtype(dtype))
      for dtype in ("float16", "bfloat16") for level in ("O1", "O2")],
    Case("SIGTERM, then --resume auto", case_sigterm),
    Case(f"accumulation 2 x {BATCH // 2} clips", case_accumulation),
    Case("recompute", case_recompute),
    Case("attention fused vs explicit (AMP float16)", attention_case(amp=True), amp_dtype("float16")),
    Case(f"data parallel 2 x {BATCH // 2} clips", case_data_parallel, two_gpus),
    Case("export + predict.py fp32 (--use_gpu with a GPU)", case_predict_fp32),
    Case("predict.py --use_gpu fp16", case_predict_fp16, gpu_only),
]


# ---------------------------------------------------------------- preparing and reporting
def tiny_overrides(data: str) -> List[str]:
    """``-o`` items shrinking the demo config to the tiny model on the generated videos."""
    items = [f"MODEL.backbone.img_size={SIZE}", f"MODEL.backbone.embed_dim={EMBED}", "MODEL.backbone.depth=2",
             "MODEL.backbone.num_heads=2", f"MODEL.backbone.num_seg={NUM_SEG}", f"MODEL.head.in_channels={EMBED}",
             f"INFERENCE.num_seg={NUM_SEG}", f"INFERENCE.target_size={SIZE}", "epochs=1", "log_interval=1",
             "OPTIMIZER.learning_rate.warmup_epochs=0",  # both updates move the weights: parity means something
             "save_interval=1", f"DATASET.batch_size={BATCH}", "DATASET.valid_batch_size=4",
             "DATASET.test_batch_size=4", f"PIPELINE.train.transform.0.JitterScale.min_size={SIZE}",
             f"PIPELINE.train.transform.0.JitterScale.max_size={SIZE + 4}",
             f"PIPELINE.train.transform.1.RandomCrop.target_size={SIZE}"]
    for mode, split in (("train", "train"), ("valid", "val"), ("test", "val")):
        items += [f"PIPELINE.{mode}.sample.num_seg={NUM_SEG}", f"DATASET.{mode}.data_prefix={data}/videos",
                  f"DATASET.{mode}.file_path={data}/{split}.list"]
        if mode != "train":
            items += [f"PIPELINE.{mode}.transform.0.Scale.short_size={SIZE}",
                      f"PIPELINE.{mode}.transform.1.CenterCrop.target_size={SIZE}"]
    return items


def prepare(work: str) -> Check:
    """Write the shim, the demo videos and the tiny config into ``work``, and probe the GPUs."""
    with open(os.path.join(work, "shim.py"), "w", encoding="utf-8") as handle:
        handle.write(SHIM)
    data = os.path.join(work, "data")
    run_or_exit([sys.executable, os.path.join(ROOT, "data", "generate_demo_data.py"), "--out", data,
                 "--train-per-class", "4", "--val-per-class", "2", "--frames", "8", "--size", str(SIZE)],
                "generating the demo videos")
    cfg = get_config(DEMO_CONFIG, tiny_overrides(data), show=False)
    config = os.path.join(work, "tiny.yaml")
    with open(config, "w", encoding="utf-8") as handle:
        handle.write(format_config(cfg) + "\n")
    return Check(work, config, data, probe(), cfg["model_name"])


def probe() -> Machine:
    output = run_or_exit([sys.executable, "-c", PROBE], "asking Paddle about the GPUs")
    return Machine(**json.loads(output.strip().splitlines()[-1]))


def run_case(case: Case, check: Check, quick: bool) -> Row:
    """The case's row: skipped with the reason where it cannot run here, failed on a broken output."""
    reason = case.needs(check.machine) or (None if case.quick or not quick else "not in --quick")
    if reason:
        return Row(case.name, "skipped", note=reason)
    try:
        row = case.run(check)
    except (OSError, ValueError, KeyError, subprocess.SubprocessError) as err:
        row = Row().fail(f"{type(err).__name__}: {err}")
    row.case = case.name
    return row


def format_table(rows: List[Row]) -> str:
    header = ("case", "result", "loss", "parity", "time/step", "peak GPU mem", "note")
    lines = [header] + [(r.case, r.status, r.loss, r.parity, r.step_time, r.peak_memory, r.note) for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)) + "  " + line[-1]
                     for line in lines).rstrip()


def exit_status(rows: List[Row]) -> int:
    return 1 if any(r.status == "FAIL" for r in rows) else 0


@contextmanager
def work_directory(path: Optional[str]) -> Iterator[str]:
    if path:
        os.makedirs(path, exist_ok=True)
        yield os.path.abspath(path)
    else:
        with tempfile.TemporaryDirectory(prefix="check_gpu_") as tmp:
            yield tmp


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the GPU paths (AMP, resume, accumulation, recompute, "
                                                 "attention, data parallel, export + predict) on a tiny model")
    parser.add_argument("--quick", action="store_true",
                        help="only the float32 training and the float32 attention parity")
    parser.add_argument("--workdir", default=None, help="keep the data, logs and checkpoints here "
                                                        "(default: a temporary directory, removed at the end)")
    return parser.parse_args(argv)


def run_cases(check: Check, quick: bool) -> List[Row]:
    """Every case in order (later ones compare with earlier ones), with a progress line each."""
    rows = []
    for index, case in enumerate(CASES, 1):
        start = time.time()
        rows.append(run_case(case, check, quick))
        print(f"[{index}/{len(CASES)}] {case.name}: {rows[-1].status} ({time.time() - start:.1f} s)", flush=True)
    return rows


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.time()
    with work_directory(args.workdir) as work:
        check = prepare(work)
        print(f"check_gpu: {check.machine.describe()}", flush=True)
        rows = run_cases(check, args.quick)
    print(format_table(rows))
    counts = {status: sum(r.status == status for r in rows) for status in ("ok", "FAIL", "skipped")}
    print(f"{counts['ok']} ok, {counts['FAIL']} failed, {counts['skipped']} skipped in {time.time() - start:.0f} s")
    return exit_status(rows)


if __name__ == "__main__":
    sys.exit(main())
