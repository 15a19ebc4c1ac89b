"""Classify videos with an exported model (Paddle Inference or ONNX Runtime).

    python tools/predict.py -c CONFIG -i INPUT --model_file inference/NAME.json --params_file inference/NAME.pdiparams
    python tools/predict.py -c CONFIG -i INPUT --model_file inference/NAME.onnx
    python tools/predict.py -c CONFIG -i INPUT --model_file inference/NAME.json --precision bf16
    python tools/predict.py -c CONFIG -i INPUT --model_file inference/ --precision int8

PaddleVideo's flags work as they are (``-o/--override``, ``-b/--batch_size``, ``--use_gpu``,
``--enable_mkldnn``, ``--enable_benchmark``, ``--gpu_mem``, ``--disable_glog``, ``--time_test_file``,
...), and so does its output (``top-K class: [...]`` / ``top-K score: [...]``).

Precision: ``--precision bf16`` runs Paddle Inference with oneDNN bf16 when the CPU has AMX-BF16 or
AVX512-BF16 (with AVX512-BF16 alone it warns that, depending on the CPU, this can be slower than
fp32), and fp32 with oneDNN when it has neither. ``--precision int8`` runs ``NAME.int8.onnx``
(``tools/export_model.py --quantize int8``) on ONNX Runtime, found next to ``--model_file`` or in its
directory. The path that runs is printed on the ``Precision:`` line. ``--use_tensorrt`` runs TensorRT
for a legacy ``.pdmodel`` or an ``.onnx`` model; a Paddle 3 ``.json`` is refused, with how to convert
it (``paddle.tensorrt.convert``), because Paddle Inference would run it without TensorRT.

INPUT is a video, a directory (searched recursively) or a list file (``.txt``/``.list``; one path per
line, optional trailing label; relative paths are joined to ``--data_prefix``, default the list's
directory). Preprocessing is the config's ``PIPELINE.test``, the same code ``main.py --test`` runs.
Videos that cannot be decoded are reported and skipped. A video whose later frames do not decode (a
truncated file) is predicted from its readable frames with a warning naming it and the readable vs
header frame counts: printed under its file name and as ``warning`` in its ``--json`` result (null
for videos read in full). Exit status: 0 all predicted (warnings included), 1 some videos failed,
2 bad arguments or config.
"""
import argparse
import sys

from paddlevideo.cpu import setup_cpu, setup_cpu_device
from paddlevideo.deploy.cli import add_flag, setup_console_logging, str2bool
from paddlevideo.errors import ConfigError
from paddlevideo.utils.atomic import write_json_atomic
from paddlevideo.utils.cli import run_reporting_errors
from paddlevideo.utils.logger import get_logger


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Predict video classes with an exported model (TokShift, ViT baseline or TimeSformer)")
    parser.add_argument("-c", "--config", required=True, help="YAML config (PIPELINE.test, INFERENCE)")
    parser.add_argument("-i", "--input_file", required=True, help="video file, directory or list file")
    parser.add_argument("-o", "--override", action="append", default=[], help="config override KEY=VALUE")
    parser.add_argument("--model_file", required=True,
                        help="inference.json (or .pdmodel, or their directory) or model.onnx")
    parser.add_argument("--params_file", default=None,
                        help="inference.pdiparams (default: next to --model_file)")
    parser.add_argument("--backend", choices=("paddle", "onnxruntime"), default=None,
                        help="default: onnxruntime for .onnx files, paddle otherwise")
    parser.add_argument("--label_file", default=None,
                        help="class names: classInd.txt ('1 Name', 1-based), '<idx> <name>' (0-based) "
                             "or one name per line")
    parser.add_argument("--top_k", type=int, default=1)
    parser.add_argument("-b", "--batch_size", type=int, default=1)
    parser.add_argument("--data_prefix", default=None, help="root of relative paths in a list file")
    parser.add_argument("--json", default=None, help="write every result (all class scores) to this file")
    add_flag(parser, "--use_gpu", "run on GPU (needs a CUDA build)")
    parser.add_argument("--gpu_id", type=int, default=0)
    parser.add_argument("--gpu_mem", type=int, default=8000, help="initial GPU memory pool in MB (Paddle)")
    add_flag(parser, "--use_xpu", "Kunlun XPU (not supported here)")
    add_flag(parser, "--use_npu", "Ascend NPU (not supported here)")
    parser.add_argument("--disable_glog", type=str2bool, nargs="?", const=True, default=True,
                        help="silence Paddle Inference's own log (default true; false shows it)")
    add_flag(parser, "--time_test_file", "-i is a list of videos to time (PaddleVideo); implies the benchmark")
    parser.add_argument("--cpu_threads", type=int, default=None, help="CPU threads (default: all CPUs)")
    add_flag(parser, "--enable_mkldnn", "Paddle on CPU: oneDNN kernels (plain CPU if they fail)")
    parser.add_argument("--precision", choices=("fp32", "fp16", "bf16", "int8"), default="fp32",
                        help="fp16: GPU; bf16: oneDNN on CPUs with AMX/AVX512-BF16 (else fp32), or GPU; "
                             "int8: the <name>.int8.onnx model on ONNX Runtime")
    add_flag(parser, "--use_tensorrt", "TensorRT (GPU): subgraphs of a legacy .pdmodel, or ONNX Runtime's "
                                       "TensorRT provider for .onnx; a PIR .json is refused (convert it with "
                                       "paddle.tensorrt.convert, then run it with --use_gpu)")
    parser.add_argument("--ir_optim", type=str2bool, default=True,
                        help="Paddle graph optimisation passes (default true)")
    add_flag(parser, "--benchmark", "report latency of preprocessing, inference and postprocessing")
    add_flag(parser, "--enable_benchmark", "PaddleVideo's name of --benchmark")
    parser.add_argument("--warmup", type=int, default=2, help="untimed inference runs before --benchmark")
    return parser.parse_args(argv)


def load_config(args: argparse.Namespace):
    """The config of ``-c`` with the ``-o`` overrides, its test pipeline and INFERENCE checked."""
    from paddlevideo.config import INFERENCE_SECTIONS, get_config

    # the exported model needs PIPELINE.test and INFERENCE: MODEL's constructors (the dygraph model
    # code) are neither checked nor imported
    return get_config(args.config, overrides=args.override, show=False, check_sections=INFERENCE_SECTIONS)


def build_classifier(args: argparse.Namespace, cfg):
    """The config's test pipeline in front of the exported model; no dygraph model code is imported."""
    from paddlevideo.deploy.classifier import VideoClassifier
    from paddlevideo.deploy.input_shape import inference_input_shape
    from paddlevideo.deploy.labels import load_labels
    from paddlevideo.deploy.predictor import PredictorOptions, create_predictor

    options = PredictorOptions(use_gpu=args.use_gpu, gpu_id=args.gpu_id, cpu_threads=args.cpu_threads,
                               enable_mkldnn=args.enable_mkldnn, precision=args.precision,
                               use_tensorrt=args.use_tensorrt, ir_optim=args.ir_optim,
                               max_batch_size=args.batch_size, gpu_mem=args.gpu_mem,
                               disable_glog=args.disable_glog)
    predictor = create_predictor(args.model_file, args.params_file, options, args.backend,
                                 inference_input_shape(cfg))
    labels = load_labels(args.label_file) if args.label_file else None
    return VideoClassifier(cfg, predictor, labels, args.top_k)


def warm_up(classifier, batch_size: int, runs: int) -> None:
    import numpy as np

    zeros = np.zeros([batch_size] + classifier.clip_shape, dtype=np.float32)
    for _ in range(runs):
        classifier.predictor.run(zeros)


def print_benchmark(timer, predicted: int, wall: float) -> None:
    print(f"Benchmark ({predicted} videos, {wall:.3f} s wall, {predicted / wall:.2f} clips/s end to end):")
    for stage, stats in timer.summary().items():
        print(f"\t{stage:<12} median {stats['median'] * 1e3:9.2f} ms  p90 {stats['p90'] * 1e3:9.2f} ms  "
              f"(n={stats['n']})")
    total = sum(timer.times["inference"])
    if total > 0:
        print(f"\tinference throughput {predicted / total:.2f} clips/s")


def run(args: argparse.Namespace) -> int:
    import time

    from paddlevideo.deploy.classifier import Failure
    from paddlevideo.deploy.inputs import collect_videos
    from paddlevideo.deploy.timing import StageTimer

    if args.batch_size < 1:
        raise ConfigError(f"--batch_size must be >= 1, got {args.batch_size}")
    for flag in ("use_xpu", "use_npu"):
        if getattr(args, flag):
            raise ConfigError(f"--{flag}: only CPU and CUDA GPUs are supported")
    args.benchmark = args.benchmark or args.enable_benchmark or args.time_test_file
    if not args.use_gpu:
        setup_cpu_device()  # the device is known now: the CPU-only settings of paddlevideo.cpu
    files = collect_videos(args.input_file, args.data_prefix, as_list=args.time_test_file)
    classifier = build_classifier(args, load_config(args))
    print(f"Model: {classifier.predictor.describe()}")
    print(f"Precision: {classifier.predictor.precision_note}")
    if args.benchmark:
        warm_up(classifier, args.batch_size, args.warmup)
    timer, results, start = StageTimer(), [], time.perf_counter()
    for result in classifier.predict(files, args.batch_size, timer):
        results.append(result)
        print("\n".join(result.lines()), flush=True)
    wall = time.perf_counter() - start
    failed = [r for r in results if isinstance(r, Failure)]
    partial = [r for r in results if getattr(r, "warning", None)]
    print(f"Predicted {len(results) - len(failed)} of {len(results)} videos"
          + (f"; {len(failed)} could not be read" if failed else "")
          + (f"; {len(partial)} from part of the video only (see the warnings)" if partial else ""))
    if args.benchmark:
        print_benchmark(timer, len(results) - len(failed), wall)
    if args.json:
        write_json(args.json, classifier, results, timer if args.benchmark else None)
    return 1 if failed else 0


def write_json(path: str, classifier, results, timer) -> None:
    from paddlevideo.deploy.classifier import Failure

    payload = {"model": classifier.predictor.describe(),
               "labels": classifier.labels.path if classifier.labels is not None else None,
               "results": [r.to_dict() for r in results if not isinstance(r, Failure)],
               "errors": [r.to_dict() for r in results if isinstance(r, Failure)]}
    if timer is not None:
        payload["benchmark"] = timer.summary()
    write_json_atomic(path, payload)
    print(f"Wrote {path}")


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_console_logging()
    get_logger().info("%s", setup_cpu().summary())
    return run_reporting_errors(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
