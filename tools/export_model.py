"""Export a trained recognizer for inference and check the exported model against the dygraph one.

    python tools/export_model.py -c CONFIG -p WEIGHTS [-o OUTDIR] [--save_name NAME] [--onnx] [--override KEY=VALUE ...]
    python tools/export_model.py -c CONFIG -p WEIGHTS --quantize int8 [--calibration VIDEOS] [--check_clips VIDEOS]

PaddleVideo's command line: writes ``OUTDIR/NAME.json`` + ``OUTDIR/NAME.pdiparams`` (Paddle 3 PIR format;
``OUTDIR`` defaults to ``inference``, ``NAME`` to the config's ``model_name``) with input ``imgs`` of shape
``[None, 3, num_seg * views, H, W]`` (``INFERENCE`` section; dynamic batch), and with ``--onnx`` also
``OUTDIR/NAME.onnx``. Each exported model is run on random input and compared with the dygraph model; a
max abs logit difference above ``--atol`` (1e-4) exits with status 1.

``--quantize int8`` also writes ``OUTDIR/NAME.int8.onnx`` (implies ``--onnx``): ONNX Runtime dynamic
quantization of the MatMul/Gemm weights, or static QDQ quantization calibrated on the videos of
``--calibration`` (through ``PIPELINE.test``). Its check is separate and stated: the max abs logit
difference vs dygraph must stay within ``--int8_rtol`` (10%) of the reference logit range, on the
random parity input and on ``--check_clips`` (default: the calibration videos, if any), where top-1
agreement must also reach ``--int8_min_agreement`` (90%). Its size vs the fp32 model is printed.
"""
import argparse
import sys

from paddlevideo.cpu import setup_cpu
from paddlevideo.deploy.cli import setup_console_logging
from paddlevideo.errors import ConfigError
from paddlevideo.utils.cli import run_reporting_errors
from paddlevideo.utils.logger import get_logger


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Export a recognizer (TokShift, ViT baseline, TimeSformer) to Paddle Inference (and ONNX)")
    parser.add_argument("-c", "--config", required=True, help="YAML config the model was trained with")
    parser.add_argument("-p", "--pretrained_params", "--params", dest="params", required=True,
                        help="trained weights (.pdparams)")
    parser.add_argument("-o", "--output_path", default="inference", help="output directory (default: inference)")
    parser.add_argument("--save_name", default=None, help="file name stem (default: the config's model_name)")
    parser.add_argument("--override", action="append", default=[],
                        help="config override KEY=VALUE, e.g. INFERENCE.views=1 (repeatable)")
    parser.add_argument("--onnx", action="store_true", help="also write <save_name>.onnx (paddle2onnx)")
    parser.add_argument("--atol", type=float, default=1e-4,
                        help="largest accepted |exported - dygraph| logit difference (default 1e-4)")
    parser.add_argument("--check_batch_sizes", type=int, nargs="+", default=[1, 2],
                        help="batch sizes of the random parity inputs (default 1 2)")
    parser.add_argument("--cpu_threads", type=int, default=None, help="threads of the checking predictors")
    parser.add_argument("--quantize", choices=("int8",), default=None,
                        help="also write <save_name>.int8.onnx (ONNX Runtime quantization; implies --onnx)")
    parser.add_argument("--calibration", default=None,
                        help="videos (file, directory or list) for static QDQ int8 (default: dynamic int8)")
    parser.add_argument("--check_clips", default=None,
                        help="videos to check int8 top-1 agreement on (default: the calibration videos)")
    parser.add_argument("--data_prefix", default=None, help="root of relative paths in list files")
    parser.add_argument("--int8_rtol", type=float, default=0.1,
                        help="largest accepted int8 max|diff| as a fraction of the logit range (default 0.1)")
    parser.add_argument("--int8_min_agreement", type=float, default=0.9,
                        help="smallest accepted int8 top-1 agreement on the check clips (default 0.9)")
    parser.add_argument("--per_channel", action="store_true", help="per-channel weight scales (dynamic int8)")
    return parser.parse_args(argv)


def int8_options(args: argparse.Namespace, cfg):
    """:class:`Int8Options` from the command line; None without ``--quantize``."""
    from paddlevideo.deploy.classifier import VideoClips
    from paddlevideo.deploy.export import Int8Options
    from paddlevideo.deploy.inputs import collect_videos

    if args.quantize is None:
        for flag in ("calibration", "check_clips"):
            if getattr(args, flag):
                raise ConfigError(f"--{flag} needs --quantize int8")
        return None

    def clips(source):
        return None if source is None else VideoClips(cfg, collect_videos(source, args.data_prefix))

    calibration = clips(args.calibration)
    check = clips(args.check_clips) if args.check_clips else calibration
    return Int8Options(calibration=calibration, check_clips=check, rtol=args.int8_rtol,
                       min_agreement=args.int8_min_agreement, per_channel=args.per_channel)


def run(args: argparse.Namespace) -> int:
    from paddlevideo.config import get_config
    from paddlevideo.deploy.export import export_and_check
    from paddlevideo.utils.runtime import select_device

    cfg = get_config(args.config, overrides=args.override, show=False)
    select_device()  # the dygraph model and its parity check run there (on CPU with the CPU-only settings)
    report = export_and_check(cfg, args.params, args.output_path, onnx=args.onnx,
                              batch_sizes=args.check_batch_sizes, atol=args.atol,
                              cpu_threads=args.cpu_threads, name=args.save_name,
                              int8=int8_options(args, cfg))
    shape = ["None" if d is None else str(d) for d in report.input_shape]
    print(f"Input 'imgs': [{', '.join(shape)}] float32")
    for path in (report.model_file, report.params_file, report.onnx_file, report.int8_file):
        if path:
            print(f"Saved {path}")
    if report.quantization is not None:
        print(report.quantization.message())
    for check in report.checks:
        print(check.message())
    if not report.ok:
        print("error: the exported model does not match the dygraph model", file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_console_logging()
    get_logger().info("%s", setup_cpu().summary())
    return run_reporting_errors(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
