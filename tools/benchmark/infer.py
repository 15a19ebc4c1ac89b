"""CPU latency, throughput and accuracy of the TokShift forward on every inference path we ship.

    python tools/benchmark/infer.py [--model tokshift|timesformer | -c CONFIG]
        [--threads 2] [--batch_sizes 1 8] [--views 1] [--warmup 1] [--repeats 5] [--paths ...]
        [--clips data/example] [--json OUT]

Paths: ``dygraph`` (eager fp32, the reference), ``paddle`` (Paddle Inference fp32, oneDNN off),
``paddle_onednn`` (fp32, oneDNN on), ``paddle_bf16`` (oneDNN bf16 when the CPU has AMX/AVX512-BF16,
else fp32, as ``predict.py --precision bf16`` decides), ``onnxruntime`` (fp32, ORT_ENABLE_ALL) and
``onnxruntime_int8`` (dynamic int8 quantization of the MatMul/Gemm weights, as ``export_model.py
--quantize int8`` writes it). The model has random weights (the config's architecture), so the numbers
measure speed and numerical agreement, not accuracy on a data set.

In one run, for each path: median and p90 latency at every ``--batch_sizes`` entry (clips/s from the
median), and against dygraph on real clips (``--clips``, default the two shipped videos in
``data/example`` through ``PIPELINE.test``; the middle ``--views`` views of each) the max abs logit
difference and top-1 agreement. The CPU model and the features that matter (AVX-512, VNNI,
AVX512-BF16, AMX) are printed with the load average, since other processes on the cores inflate every
number. Paths are timed round-robin so they share the same background load; dygraph is timed first,
before the export and before any Paddle Inference predictor exists (eager Paddle runs slower
afterwards: 10-20% after the export, ~1.5x with a predictor).

A roofline line puts the numbers in context: the model's matmul FLOPs divided by the throughput of
its largest GEMM alone (ONNX Runtime/MLAS, same threads) is a lower bound no fp32 path can beat.
"""
import argparse
import os
import sys
import tempfile

from paddlevideo.cpu import setup_cpu, setup_cpu_device
from paddlevideo.deploy.cli import setup_console_logging
from paddlevideo.errors import ConfigError
from paddlevideo.utils.atomic import write_json_atomic
from paddlevideo.utils.cli import run_reporting_errors

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CONFIGS = {"tokshift": os.path.join("configs", "recognition", "tokshift", "k400_tokshift_div4_8x32_base_224.yaml"),
           "timesformer": os.path.join("configs", "recognition", "timesformer", "timesformer_k400_8x224.yaml")}
MODEL_NAMES = {"TokenShiftVisionTransformer": "TokShift", "VisionTransformer": "TimeSformer"}
DEFAULT_CLIPS = os.path.join(ROOT, "data", "example")
PATHS = ("dygraph", "paddle", "paddle_onednn", "paddle_bf16", "onnxruntime", "onnxruntime_int8")
PYTORCH_REFERENCE_S = 0.94
GOAL_SPEEDUP = 1.5
FP32_ATOL = 1e-3
LOSSY_PATHS = ("paddle_bf16", "onnxruntime_int8")  # judged by top-1 agreement, not FP32_ATOL


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark TokShift inference paths on CPU")
    parser.add_argument("--model", choices=sorted(CONFIGS), default="tokshift",
                        help="the K400 ViT-B/16 8x224 config of this model (default tokshift)")
    parser.add_argument("-c", "--config", default=None, help="any config (instead of --model)")
    parser.add_argument("--override", action="append", default=[], help="config override KEY=VALUE")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[1, 8],
                        help="batch sizes to time (default 1 8)")
    parser.add_argument("--views", type=int, default=1,
                        help="views per clip in the exported input (default 1: one num_seg-frame clip)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds over all paths")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds over all paths")
    parser.add_argument("--pause", type=float, default=0.3,
                        help="idle seconds before each timed run, so thread pools stop spinning")
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS))
    parser.add_argument("--clips", default=DEFAULT_CLIPS,
                        help="videos (file, directory or list) for the accuracy columns (default data/example)")
    parser.add_argument("--workdir", default=None, help="keep the exported models here (default: temp)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the results as JSON")
    args = parser.parse_args(argv)
    if min(args.batch_sizes) < 1:
        parser.error("--batch_sizes must be >= 1")
    return args


def vit_matmul_flops(cfg, frames: int) -> float:
    """FLOPs (2 per multiply-add) of the linear layers and attention products for ``frames`` frames."""
    bb = cfg["MODEL"]["backbone"]
    dim, depth, patch = bb.get("embed_dim", 768), bb.get("depth", 12), bb.get("patch_size", 16)
    tokens = (bb.get("img_size", 224) // patch) ** 2 + 1
    hidden = int(dim * bb.get("mlp_ratio", 4.0))
    per_block = 2 * tokens * (4 * dim * dim + 2 * dim * hidden) + 2 * 2 * tokens * tokens * dim
    embed = 2 * (tokens - 1) * dim * bb.get("in_channels", 3) * patch * patch
    return float(frames * (depth * per_block + embed))


def timesformer_matmul_flops(cfg, frames: int) -> float:
    """FLOPs of TimeSformer for ``frames`` frames (clips of ``num_seg``): a ViT per frame (spatial
    attention over the frame's patches and a class-token copy, MLP) plus, with divided space-time
    attention, temporal attention over each patch's ``num_seg`` tokens and ``temporal_fc``; joint
    space-time attention attends over all tokens of the clip instead."""
    bb = cfg["MODEL"]["backbone"]
    dim, depth, patch = bb.get("embed_dim", 768), bb.get("depth", 12), bb.get("patch_size", 16)
    patches, t = (bb.get("img_size", 224) // patch) ** 2, bb.get("num_seg", 8)
    attention = bb.get("attention_type", "divided_space_time")
    total = vit_matmul_flops(cfg, frames)
    if attention == "divided_space_time":
        temporal = 2 * patches * t * 5 * dim * dim + 2 * 2 * patches * t * t * dim  # qkv, proj, fc; QK^T, AV
        total += depth * temporal * frames / t
    elif attention == "joint_space_time":
        spatial = 2 * 2 * (patches + 1) ** 2 * dim
        joint = 2 * 2 * (patches * t + 1) ** 2 * dim
        total += depth * (joint - t * spatial) * frames / t
    return float(total)


MATMUL_FLOPS = {"TokenShiftVisionTransformer": vit_matmul_flops, "VisionTransformer": timesformer_matmul_flops}


def gemm_gflops(m: int, k: int, n: int, threads: int, repeats: int = 10) -> float:
    """Best fp32 GEMM throughput of ONNX Runtime (MLAS) for ``[m, k] x [k, n]``, in GFLOP/s."""
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from paddlevideo.deploy.timing import interleaved_timings

    weight = numpy_helper.from_array(np.random.RandomState(0).randn(k, n).astype(np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "gemm",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])], [weight])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(helper.make_model(graph).SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    x = np.random.RandomState(1).randn(m, k).astype(np.float32)
    times = interleaved_timings({"gemm": lambda: session.run(None, {"x": x})}, 3, repeats)["gemm"]
    return 2.0 * m * k * n / min(times) / 1e9


def make_predictor(path: str, files: dict, threads: int):
    """The :class:`Predictor` of one exported path; ConfigError/RuntimeError when it cannot run here."""
    from paddlevideo.deploy.predictor import OnnxPredictor, PaddlePredictor, PredictorOptions

    if path == "onnxruntime":
        return OnnxPredictor(files["onnx"], PredictorOptions(cpu_threads=threads))
    if path == "onnxruntime_int8":
        return OnnxPredictor(files["int8"], PredictorOptions(cpu_threads=threads, precision="int8"))
    options = PredictorOptions(cpu_threads=threads, enable_mkldnn=path != "paddle",
                               precision="bf16" if path == "paddle_bf16" else "fp32")
    return PaddlePredictor(files["model"], files["params"], options)


def export_models(recognizer, input_shape, workdir: str, int8: bool) -> dict:
    from paddlevideo.deploy.export import export_onnx, save_inference_model
    from paddlevideo.deploy.quantize import quantize_int8

    progress(f"exporting to {workdir}")
    model, params = save_inference_model(recognizer, input_shape, workdir)
    files = {"model": model, "params": params,
             "onnx": export_onnx(model, params, os.path.join(workdir, "model.onnx"))}
    if int8:
        files["int8"] = quantize_int8(files["onnx"]).file
    return files


def progress(message: str) -> None:
    """A minutes-long run says what it is doing (stderr, so stdout stays the report)."""
    print(f"[benchmark] {message}", file=sys.stderr, flush=True)


def timed_rows(runners: dict, batches: dict, args) -> dict:
    """``{path: {batch: latency stats + clips_per_s}}``, each batch size timed round-robin over paths."""
    from paddlevideo.deploy.timing import interleaved_timings, latency_stats

    out = {path: {} for path in runners}
    for batch, imgs in batches.items():
        progress(f"timing {', '.join(runners)} at batch {batch}")
        calls = {path: (lambda run=run, imgs=imgs: run(imgs)) for path, run in runners.items()}
        for path, times in interleaved_timings(calls, args.warmup, args.repeats, args.pause).items():
            stats = latency_stats(times)
            out[path][batch] = {**stats, "clips_per_s": batch / stats["median"]}
    return out


def accuracy(out, reference) -> dict:
    from paddlevideo.deploy.agreement import logit_agreement

    diff, agree = logit_agreement(reference, out)
    return {"max_abs_diff": diff, "top1_agree": agree, "n_clips": int(len(reference))}


def benchmark(recognizer, export, clips, batches, args) -> list:
    """One row per path: what runs, accuracy on ``clips`` vs dygraph, timings per batch size, or
    the reason it cannot run here.

    Dygraph is timed first, before ``export()`` (which returns the exported files) and before any
    predictor exists: eager Paddle runs 10-50% slower after either in the same process.
    """
    import numpy as np

    from paddlevideo.deploy.export import dygraph_runner

    eager = dygraph_runner(recognizer)
    reference = eager(clips).astype(np.float64)
    rows = {}
    if "dygraph" in args.paths:
        rows["dygraph"] = {"path": "dygraph", "what": "eager, fp32", "precision": "fp32",
                           **accuracy(reference, reference), "batches": timed_rows({"dygraph": eager}, batches,
                                                                                   args)["dygraph"]}
    files = export()
    runners = {}
    for path in [p for p in args.paths if p != "dygraph"]:
        progress(f"{path}: creating the predictor, running the real clips")
        try:
            predictor = make_predictor(path, files, args.threads)
            out = predictor.run(clips)
        except (ConfigError, RuntimeError) as err:
            rows[path] = {"path": path, "error": str(err)}
            continue
        runners[path] = predictor.run
        rows[path] = {"path": path, "what": predictor.describe(), "precision": precision_label(predictor),
                      "precision_note": predictor.precision_note, **accuracy(out, reference)}
    for path, timings in timed_rows(runners, batches, args).items():
        rows[path]["batches"] = timings
    return [rows[p] for p in args.paths]


def precision_label(predictor) -> str:
    """The precision that actually runs, short: ``fp32``, ``int8``, ``bf16 (avx512_bf16)``, ..."""
    from paddlevideo.deploy.cpu import bf16_instruction_set

    if predictor.backend == "onnxruntime":
        return predictor.precision
    precision = predictor.options.precision
    return f"bf16 ({bf16_instruction_set()})" if precision == "bf16" and not predictor.options.use_gpu \
        else precision


def is_reference_setting(cfg, input_shape) -> bool:
    """Whether the PyTorch reference applies: TokShift ViT-B/16, 8 frames of 224 px, one view."""
    bb = cfg["MODEL"]["backbone"]
    model = (bb.get("embed_dim"), bb.get("depth"), bb.get("patch_size"), bb.get("num_heads"))
    return bb["name"] == "TokenShiftVisionTransformer" and model == (768, 12, 16, 12) \
        and list(input_shape[1:]) == [3, 8, 224, 224]


def accurate(row: dict) -> bool:
    if row["path"] in LOSSY_PATHS:
        return row["top1_agree"] == row["n_clips"]
    return row["max_abs_diff"] <= FP32_ATOL


def meets_goal(row: dict) -> bool:
    return accurate(row) and 1 in row["batches"] and \
        row["batches"][1]["median"] <= PYTORCH_REFERENCE_S / GOAL_SPEEDUP


def print_table(rows, input_shape, args, reference_setting: bool, name: str = "TokShift") -> None:
    sizes = args.batch_sizes
    n_clips = next((r["n_clips"] for r in rows if "error" not in r), 0)
    print(f"\n{name} forward, input {input_shape} x batch {sizes}, {args.threads} threads, medians of "
          f"{args.repeats} round-robin runs after {args.warmup} warm-up round(s); max|diff| and top-1 "
          f"agreement vs dygraph on {n_clips} real clips")
    base = next((r for r in rows if r["path"] == "dygraph" and "error" not in r), None)
    header = f"{'path':<18}"
    for b in sizes:
        header += f"{f'b{b} s':>9}{f'b{b} clip/s':>12}"
    header += f"{'vs dygraph':>11}{'vs PyTorch':>11}{'max|diff|':>11}{'top-1':>7}  precision"
    print(header)
    for row in rows:
        if "error" in row:
            print(f"{row['path']:<18}n/a  {row['error']}")
            continue
        line = f"{row['path']:<18}"
        for b in sizes:
            stats = row["batches"][b]
            line += f"{stats['median']:>9.3f}{stats['clips_per_s']:>12.2f}"
        first = row["batches"][sizes[0]]["median"]
        line += f"{base['batches'][sizes[0]]['median'] / first:>10.2f}x" if base else f"{'-':>11}"
        line += f"{PYTORCH_REFERENCE_S / row['batches'][1]['median']:>10.2f}x" \
            if reference_setting and 1 in sizes else f"{'-':>11}"
        line += f"{row['max_abs_diff']:>11.2e}{row['top1_agree']:>4}/{row['n_clips']:<2}  {row['precision']}"
        print(line)
    print("(vs dygraph: latency ratio at batch %d; vs PyTorch: the official PyTorch forward, %.2f s at batch 1 "
          "on 2 threads of the reference machine, not measured here)" % (sizes[0], PYTORCH_REFERENCE_S))
    for row in rows:
        if "error" not in row:
            note = f"; {row['precision_note']}" if row.get("precision_note", "").startswith("bf16") else ""
            print(f"  {row['path']}: {row['what']}{note}")
    print_goal(rows, reference_setting)


def print_goal(rows, reference_setting: bool) -> None:
    timed = [r for r in rows if "error" not in r and 1 in r["batches"]]
    if timed and not reference_setting:
        print("Goal: n/a (the PyTorch reference is ViT-B/16 8x224 at batch 1, one view)")
    elif timed:
        best = min(timed, key=lambda r: r["batches"][1]["median"])
        seconds = best["batches"][1]["median"]
        goal = PYTORCH_REFERENCE_S / GOAL_SPEEDUP
        verdict = "reached" if any(meets_goal(r) for r in timed) else "NOT reached"
        print(f"Best: {best['path']} {seconds:.3f} s = {PYTORCH_REFERENCE_S / seconds:.2f}x the PyTorch "
              f"reference ({PYTORCH_REFERENCE_S} s, ViT-B/16 8x224); goal <= {goal:.3f} s ({GOAL_SPEEDUP}x) "
              f"with max|diff| <= {FP32_ATOL:g} (bf16/int8: same top-1 on every clip): {verdict}")


def print_roofline(cfg, input_shape, args) -> dict:
    bb = cfg["MODEL"]["backbone"]
    tokens = (bb.get("img_size", 224) // bb.get("patch_size", 16)) ** 2 + 1
    frames = input_shape[2]
    dim = bb.get("embed_dim", 768)
    flops = MATMUL_FLOPS.get(bb["name"], vit_matmul_flops)(cfg, frames)
    gflops = gemm_gflops(frames * tokens, dim, int(dim * bb.get("mlp_ratio", 4.0)), args.threads)
    bound = flops / gflops / 1e9
    print(f"Roofline: {flops / 1e9:.0f} GFLOP of matmuls per clip; the largest GEMM alone runs at "
          f"{gflops:.0f} GFLOP/s on {args.threads} threads (fp32, MLAS) -> no fp32 path can beat "
          f"{bound:.3f} s per clip here")
    return {"gflop": flops / 1e9, "gemm_gflops": gflops, "fp32_lower_bound_s": bound}


def cpu_report() -> dict:
    from paddlevideo.deploy.cpu import cpu_model_name, decide_bf16, feature_summary

    report = {"model": cpu_model_name(), "features": feature_summary(), "bf16": decide_bf16().note,
              "cpus": os.cpu_count()}
    print(f"CPU: {report['model']} ({report['cpus']} CPUs visible); features: {report['features']}")
    print(f"bf16 on this CPU: {report['bf16']}")
    return report


def build_model(args):
    """Config, single-clip input shape and the random-weight recognizer."""
    import paddle

    from paddlevideo.config import get_config
    from paddlevideo.deploy.export import load_recognizer
    from paddlevideo.deploy.input_shape import inference_input_shape
    from paddlevideo.modeling.weight_init import trunc_normal_

    cfg = get_config(args.config or CONFIGS[args.model], overrides=args.override, show=False)
    input_shape = inference_input_shape(cfg, views=args.views)
    paddle.seed(args.seed)
    recognizer = load_recognizer(cfg)
    # Configs with ``head.std: 0`` (official zero_head) start with all-zero logits, which would make
    # every accuracy comparison below vacuous: give the random classifier real weights.
    trunc_normal_(recognizer.head.fc.weight, std=0.02)
    return cfg, input_shape, recognizer


def run(args: argparse.Namespace) -> int:
    from paddlevideo.deploy.agreement import random_input
    from paddlevideo.deploy.classifier import read_clips
    from paddlevideo.deploy.inputs import collect_videos

    cpu = cpu_report()
    cfg, input_shape, recognizer = build_model(args)
    clip_files = collect_videos(args.clips)
    clips = read_clips(cfg, clip_files, views=args.views)
    batches = {b: random_input(input_shape, b, args.seed + b) for b in args.batch_sizes}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        def export():
            return export_models(recognizer, input_shape, args.workdir or tmp,
                                 int8="onnxruntime_int8" in args.paths)

        rows = benchmark(recognizer, export, clips, batches, args)
    roofline = print_roofline(cfg, input_shape, args)
    load_after = os.getloadavg()
    print(f"Load average (1 min) before / after: {load_before[0]:.2f} / {load_after[0]:.2f} on "
          f"{os.cpu_count()} CPUs (other processes on these cores inflate every number)")
    shape = [1] + input_shape[1:]
    backbone = cfg["MODEL"]["backbone"]["name"]
    print_table(rows, shape, args, is_reference_setting(cfg, shape), MODEL_NAMES.get(backbone, backbone))
    if args.json:
        write_json_atomic(args.json, {"input_shape": shape, "threads": args.threads, "cpu": cpu,
                                      "clips": clip_files, "load_average": [load_before[0], load_after[0]],
                                      "roofline": roofline, "rows": rows})
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_cpu(threads=args.threads)  # before Paddle is imported: eager kernels read it once
    setup_cpu_device()  # a CPU benchmark: the CPU-only settings too
    setup_console_logging("WARNING")
    return run_reporting_errors(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
