"""Spatial-temporal token selection (STTS) against the full model: top-1, CPU latency and GFLOPs.

    python tools/benchmark/stts.py [--data data/demo] [--out output/benchmark_stts] [--threads 2]
        [--full_epochs N] [--finetune_epochs N] [--repeats 30] [--vitb_repeats 5] [--skip_vitb] [--json OUT]

1. Trains the demo TokShift (``configs/recognition/tokshift/demo_tokshift_tiny.yaml``) on the time-reversal
   demo data (``data/generate_demo_data.py``), then fine-tunes every STTS setting of ``DEMO_SETTINGS`` from
   its best checkpoint with the STTS recipe of ``configs/recognition/stts/demo_tokshift_tiny_stts.yaml``
   (scorers alone for 2 epochs, then everything with the backbone and head at 0.1x), and tests each
   (``main.py --test``, hard selection) on the validation split.
2. In a child process, times ``--demo_batch`` clips per forward through every model: eager (dygraph) first, round-robin,
   then the exported models (Paddle Inference fp32, oneDNN off, and ONNX Runtime), round-robin, since
   eager Paddle slows down once a predictor exists. The machine is shared: compare the ratios.
3. Analytical GFLOPs of ViT-B/16 8x224 TokShift (2 FLOPs per multiply-add, every token through every
   block, as ``tools/benchmark/infer.py`` counts: 281 for the full model), scorers included, and, in a
   second child process, the exported latency of the full and selected ViT-B models (random weights:
   the cost does not depend on them).
"""
import argparse
import json
import os
import subprocess
import sys
import time

from paddlevideo.cpu import setup_cpu, setup_cpu_device
from paddlevideo.deploy.cli import setup_console_logging
from paddlevideo.utils.atomic import write_json_atomic

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CONFIG_DIR = os.path.join(ROOT, "configs", "recognition")
FULL_CONFIG = os.path.join(CONFIG_DIR, "tokshift", "demo_tokshift_tiny.yaml")
STTS_CONFIG = os.path.join(CONFIG_DIR, "stts", "demo_tokshift_tiny_stts.yaml")
VITB_CONFIG = os.path.join(CONFIG_DIR, "tokshift", "k400_tokshift_div4_8x32_base_224.yaml")
# Demo: 8 frames of a 4x4 patch grid, depth 4.
DEMO_SETTINGS = {
    "T0.5": {"temporal": {"block": 0, "keep": 0.5}},
    "T0.75": {"temporal": {"block": 0, "keep": 0.75}},
    "S0.7@1": {"spatial": {"block": 1, "keep": 0.7}},
    "T0.75+S0.7@1": {"temporal": {"block": 0, "keep": 0.75}, "spatial": {"block": 1, "keep": 0.7}},
    "T0.5+S0.7@1": {"temporal": {"block": 0, "keep": 0.5}, "spatial": {"block": 1, "keep": 0.7}},
    "S0.5@0": {"spatial": {"block": 0, "keep": 0.5}},  # a 3x3 window of the 4x4 grid from the first block
    "S0.3@0": {"spatial": {"block": 0, "keep": 0.3}},  # a 2x2 window
}
# ViT-B/16 8x224: 14x14 patch grid, depth 12 (the K400 configs in configs/recognition/stts).
VITB_SETTINGS = {
    "T0.5": {"temporal": {"block": 0, "keep": 0.5}},
    "T0.75+S0.7@4": {"temporal": {"block": 0, "keep": 0.75}, "spatial": {"block": 4, "keep": 0.7}},
    "T0.5+S0.7@4": {"temporal": {"block": 0, "keep": 0.5}, "spatial": {"block": 4, "keep": 0.7}},
    "T0.5+S0.5@2": {"temporal": {"block": 0, "keep": 0.5}, "spatial": {"block": 2, "keep": 0.5}},
    "S0.5@0": {"spatial": {"block": 0, "keep": 0.5}},  # a 10x10 window of the 14x14 grid
    "S0.3@0": {"spatial": {"block": 0, "keep": 0.3}},  # an 8x8 window
}


def progress(message: str) -> None:
    print(f"[stts benchmark] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------ FLOPs
def scorer_flops(tokens: int, dim: int) -> float:
    """FLOPs of a :class:`TokenScorer` on ``tokens`` tokens (its four Linear layers)."""
    return 2.0 * tokens * (dim * dim + dim * (dim // 2) + (dim // 2) * (dim // 4) + dim // 4)


def tokshift_flops(backbone: dict, selection=None) -> float:
    """Matmul FLOPs (2 per multiply-add) of a TokShift ViT with ``selection`` (a ``token_selection``
    mapping): linear layers and attention products per block for the frames and tokens that block
    sees, the patch embedding, and the scorers. Without selection this is
    ``tools/benchmark/infer.py``'s ``vit_matmul_flops``."""
    from paddlevideo.modeling.token_selection import num_kept_frames, window_side

    dim, depth, patch = backbone.get("embed_dim", 768), backbone.get("depth", 12), backbone.get("patch_size", 16)
    grid, frames = backbone.get("img_size", 224) // patch, backbone.get("num_seg", 8)
    hidden = int(dim * backbone.get("mlp_ratio", 4.0))
    selection = selection or {}
    temporal, spatial = selection.get("temporal"), selection.get("spatial")
    total = 2.0 * frames * grid * grid * dim * backbone.get("in_channels", 3) * patch * patch
    side = grid
    for block in range(depth):
        if temporal and temporal["block"] == block:
            total += scorer_flops(frames * side * side, dim)
            frames = num_kept_frames(frames, temporal["keep"])
        if spatial and spatial["block"] == block:
            total += scorer_flops(frames * side * side, dim)
            side = window_side(grid, spatial["keep"])
        tokens = side * side + 1
        total += frames * (2.0 * tokens * (4 * dim * dim + 2 * dim * hidden) + 4.0 * tokens * tokens * dim)
    return total


# ------------------------------------------------------------------------------------------ training
def run(cmd) -> None:
    subprocess.run(cmd, check=True, cwd=ROOT)


def data_overrides(data: str) -> list:
    sets = []
    for mode, split in (("train", "train"), ("valid", "val"), ("test", "val")):
        sets += [f"DATASET.{mode}.data_prefix={data}/videos", f"DATASET.{mode}.file_path={data}/{split}.list"]
    return sets


def as_args(sets) -> list:
    return [arg for item in sets for arg in ("-o", item)]


def train_and_test(config: str, name: str, sets: list, seed: int, weights=None, reuse: bool = False) -> dict:
    """``main.py --validate`` (from ``weights`` if given), then ``--test`` of the best checkpoint;
    with ``reuse``, the results of an earlier run in the same output directory when it finished."""
    out = sets[0].split("=", 1)[1]
    best, summary = os.path.join(out, f"{name}_best.pdparams"), os.path.join(out, "stts_run.json")
    if reuse and os.path.isfile(summary):
        with open(summary, encoding="utf-8") as f:
            return json.load(f)
    start = time.time()
    run([sys.executable, "main.py", "-c", config, "--validate", "--seed", str(seed)]
        + (["-w", weights] if weights else []) + as_args(sets))
    seconds = time.time() - start
    run([sys.executable, "main.py", "-c", config, "--test", "-w", best] + as_args(sets))
    with open(os.path.join(out, "test_results.json"), encoding="utf-8") as f:
        results = json.load(f)
    row = {"top1": results["top1"], "train_s": seconds, "weights": best, "config": config, "overrides": sets}
    write_json_atomic(summary, row)
    return row


def train_demo_models(args) -> dict:
    """The full demo TokShift and every fine-tuned STTS setting: name -> test results and files."""
    models = {}
    full_sets = [f"output_dir={os.path.join(args.out, 'full')}"] + data_overrides(args.data)
    if args.full_epochs:
        full_sets.append(f"epochs={args.full_epochs}")
    progress("training the full demo TokShift")
    models["full"] = train_and_test(FULL_CONFIG, "demo_tokshift_tiny", full_sets, args.seed, reuse=args.reuse)
    for name, selection in DEMO_SETTINGS.items():
        sets = [f"output_dir={os.path.join(args.out, name)}", f"MODEL.backbone.token_selection={selection!r}"]
        sets += data_overrides(args.data)
        if args.finetune_epochs:
            sets += [f"epochs={args.finetune_epochs}", f"save_interval={args.finetune_epochs}"]
        progress(f"fine-tuning STTS {name} from the full model")
        models[name] = train_and_test(STTS_CONFIG, "demo_tokshift_tiny_stts", sets, args.seed,
                                      weights=models["full"]["weights"], reuse=args.reuse)
    return models


# ------------------------------------------------------------------------------------------ timing (child)
def time_models(specs: dict, threads: int, batch: int, warmup: int, repeats: int, pause: float) -> dict:
    """Median seconds per forward of ``batch`` clips for every model in ``specs`` (name -> config, overrides, weights):
    eager first, then Paddle Inference and ONNX Runtime, each round-robin over the models."""
    import tempfile

    import numpy as np
    import paddle

    from paddlevideo.config import get_config
    from paddlevideo.deploy.agreement import random_input
    from paddlevideo.deploy.export import dygraph_runner, export_onnx, load_recognizer, save_inference_model
    from paddlevideo.deploy.input_shape import inference_input_shape
    from paddlevideo.deploy.predictor import PaddlePredictor, PredictorOptions
    from paddlevideo.deploy.timing import interleaved_timings

    paddle.seed(0)
    models, shape = {}, None
    for name, spec in specs.items():
        cfg = get_config(spec["config"], overrides=spec["overrides"], show=False)
        shape = inference_input_shape(cfg, views=1)
        models[name] = load_recognizer(cfg, spec.get("weights"))
    clip = random_input(shape, batch, 0)
    eager = {name: dygraph_runner(model) for name, model in models.items()}
    results = {"dygraph": interleaved_timings({n: (lambda f=f: f(clip)) for n, f in eager.items()},
                                              warmup, repeats, pause)}
    options = PredictorOptions(cpu_threads=threads)
    with tempfile.TemporaryDirectory() as tmp:
        paddle_runs, onnx_runs = {}, {}
        for name, model in models.items():
            progress(f"exporting {name}")
            program, params = save_inference_model(model, shape, os.path.join(tmp, name))
            onnx_file = export_onnx(program, params, os.path.join(tmp, name, "model.onnx"))
            reference = eager[name](clip)
            paddle_runs[name] = PaddlePredictor(program, params, options).run
            onnx_runs[name] = onnx_runner(onnx_file, threads)
            for runner in (paddle_runs[name], onnx_runs[name]):
                diff = float(np.abs(runner(clip) - reference).max())
                if diff > 1e-3:
                    raise RuntimeError(f"{name}: exported logits differ from dygraph by {diff}")
        for path, runners in (("paddle", paddle_runs), ("onnxruntime", onnx_runs)):
            results[path] = interleaved_timings({n: (lambda r=r: r(clip)) for n, r in runners.items()},
                                                warmup, repeats, pause)
    return {path: {name: float(np.median(times)) for name, times in per_model.items()}
            for path, per_model in results.items()}


def onnx_runner(onnx_file: str, threads: int):
    """``imgs -> logits`` through ONNX Runtime with idle worker threads sleeping: with several sessions
    in one process, spinning threads of the one just timed slowed down the next (measured: the tiny
    selecting models looked 1.5x slower than the full one round-robin, 0.7x when timed alone)."""
    import onnxruntime as ort

    from paddlevideo.deploy.input_shape import INPUT_NAME

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3  # no warnings about initializers paddle2onnx left unused
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(onnx_file, options, providers=["CPUExecutionProvider"])
    return lambda imgs: session.run(None, {INPUT_NAME: imgs})[0]


def vitb_specs() -> dict:
    specs = {"full": {"config": VITB_CONFIG, "overrides": []}}
    for name, selection in VITB_SETTINGS.items():
        specs[name] = {"config": VITB_CONFIG, "overrides": [f"MODEL.backbone.token_selection={selection!r}"]}
    return specs


def timing_child(args, specs: dict, tag: str, batch: int, repeats: int, warmup: int) -> dict:
    """Run :func:`time_models` in a fresh process (no predictor or export has touched eager Paddle yet)."""
    spec_file = os.path.join(args.out, f"{tag}_specs.json")
    out_file = os.path.join(args.out, f"{tag}_timings.json")
    write_json_atomic(spec_file, {"specs": specs, "threads": args.threads, "batch": batch, "warmup": warmup,
                                  "repeats": repeats, "pause": args.pause, "out": out_file})
    run([sys.executable, os.path.abspath(__file__), "--child", spec_file, "--threads", str(args.threads)])
    with open(out_file, encoding="utf-8") as f:
        return json.load(f)


# ------------------------------------------------------------------------------------------ report
def ratio_row(name: str, timings: dict) -> str:
    cells = []
    for path in ("dygraph", "paddle", "onnxruntime"):
        seconds, full = timings[path][name], timings[path]["full"]
        cells.append(f"{seconds * 1e3:8.1f} ms ({seconds / full:4.2f}x)")
    return " | ".join(cells)


def print_report(models: dict, demo_timings: dict, vitb: dict, cpu: dict, demo_batch: int) -> None:
    print(f"\nCPU: {cpu['model']} ({cpu['cpus']} CPUs visible, {cpu['threads']} threads used); "
          f"features: {cpu['features']}; load average before/after: {cpu['load']}")
    print(f"\nDemo TokShift (64 px, 8 frames, depth 4), time-reversal demo data, {demo_batch} clips per forward:")
    print(f"{'setting':<14} {'top-1':>7} {'MFLOPs':>7} | {'dygraph':>20} | {'Paddle Inference':>20} | "
          f"{'ONNX Runtime':>20}")
    for name, result in models.items():
        print(f"{name:<14} {result['top1']:>7.2%} {demo_flops(name) / 1e6:>7.0f} | {ratio_row(name, demo_timings)}")
    if vitb:
        print("\nViT-B/16 TokShift 8x224 (random weights), GFLOPs per clip and latency of one clip:")
        print(f"{'setting':<14} {'GFLOPs':>8} | {'dygraph':>20} | {'Paddle Inference':>20} | {'ONNX Runtime':>20}")
        for name, gflops in vitb["gflops"].items():
            print(f"{name:<14} {gflops:>8.1f} | {ratio_row(name, vitb['timings'])}")


def cpu_info(threads: int) -> dict:
    from paddlevideo.deploy.cpu import cpu_model_name, feature_summary

    return {"model": cpu_model_name(), "features": feature_summary(), "cpus": os.cpu_count(), "threads": threads}


def demo_flops(name: str) -> float:
    """FLOPs of one clip through the demo TokShift with setting ``name`` (``full`` or ``DEMO_SETTINGS``)."""
    import yaml

    with open(FULL_CONFIG, encoding="utf-8") as f:
        backbone = yaml.safe_load(f)["MODEL"]["backbone"]
    return tokshift_flops(backbone, DEMO_SETTINGS.get(name))


def vitb_gflops() -> dict:
    import yaml

    with open(VITB_CONFIG, encoding="utf-8") as f:
        backbone = yaml.safe_load(f)["MODEL"]["backbone"]
    gflops = {"full": tokshift_flops(backbone) / 1e9}
    gflops.update({name: tokshift_flops(backbone, sel) / 1e9 for name, sel in VITB_SETTINGS.items()})
    return gflops


def main_run(args) -> int:
    os.makedirs(args.out, exist_ok=True)
    if not os.path.isfile(os.path.join(args.data, "train.list")):  # an existing data set is used as it is
        run([sys.executable, os.path.join("data", "generate_demo_data.py"), "--out", args.data])
    cpu = cpu_info(args.threads)
    load_before = os.getloadavg()[0]
    models = train_demo_models(args)
    specs = {name: {k: m[k] for k in ("config", "overrides", "weights")} for name, m in models.items()}
    progress("timing the demo models")
    demo_timings = timing_child(args, specs, "demo", args.demo_batch, args.repeats, 3)
    vitb = {}
    if not args.skip_vitb:
        progress("timing ViT-B/16 8x224 (full and selected)")
        vitb = {"gflops": vitb_gflops(),
                "timings": timing_child(args, vitb_specs(), "vitb", 1, args.vitb_repeats, 1)}
    cpu["load"] = f"{load_before:.2f} / {os.getloadavg()[0]:.2f}"
    print_report(models, demo_timings, vitb, cpu, args.demo_batch)
    if args.json:
        write_json_atomic(args.json, {"cpu": cpu, "demo": models, "demo_timings": demo_timings, "vitb": vitb})
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(ROOT, "data", "demo"))
    parser.add_argument("--out", default=os.path.join(ROOT, "output", "benchmark_stts"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--full_epochs", type=int, default=None, help="override the full model's epochs")
    parser.add_argument("--finetune_epochs", type=int, default=None, help="override the STTS fine-tuning epochs")
    parser.add_argument("--repeats", type=int, default=20, help="timed rounds of the demo models")
    parser.add_argument("--demo_batch", type=int, default=8,
                        help="clips per timed forward of the demo models (default 8: at batch 1 the tiny "
                             "model's time is mostly per-operator overhead)")
    parser.add_argument("--vitb_repeats", type=int, default=5, help="timed rounds of the ViT-B models")
    parser.add_argument("--pause", type=float, default=0.3,
                        help="idle seconds before each timed run, so thread pools stop spinning")
    parser.add_argument("--skip_vitb", action="store_true", help="no ViT-B export and timing")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse finished training runs found in --out (same settings) and only re-time")
    parser.add_argument("--json", default=None, help="also write the results as JSON")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # internal: one timing process
    args = parser.parse_args(argv)
    setup_cpu(threads=args.threads)  # before Paddle is imported: eager kernels read it once
    setup_cpu_device()  # a CPU benchmark: the CPU-only settings too
    setup_console_logging("WARNING")
    if args.child:
        with open(args.child, encoding="utf-8") as f:
            job = json.load(f)
        timings = time_models(job["specs"], job["threads"], job["batch"], job["warmup"], job["repeats"], job["pause"])
        write_json_atomic(job["out"], timings)
        return 0
    return main_run(args)


if __name__ == "__main__":
    sys.exit(main())
