"""Export a trained recognizer for inference and check the exported model against the dygraph one.

    python tools/export_model.py -c CONFIG -p WEIGHTS [-o OUTDIR] [--save_name NAME] [--onnx] [--override KEY=VALUE ...]

PaddleVideo's command line: writes ``OUTDIR/NAME.json`` + ``OUTDIR/NAME.pdiparams`` (Paddle 3 PIR format;
``OUTDIR`` defaults to ``inference``, ``NAME`` to the config's ``model_name``) with input ``imgs`` of shape
``[None, 3, num_seg * views, H, W]`` (``INFERENCE`` section; dynamic batch), and with ``--onnx`` also
``OUTDIR/NAME.onnx``. Each exported model is run on random input and compared with the dygraph model; a
max abs logit difference above ``--atol`` (1e-4) exits with status 1.
"""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from paddlevideo.deploy.cli import setup_console_logging  # noqa: E402
from paddlevideo.utils.cli import run_reporting_errors  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Export a TokShift recognizer to Paddle Inference (and ONNX)")
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
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    from paddlevideo.deploy.export import export_and_check
    from paddlevideo.utils.config import get_config

    cfg = get_config(args.config, overrides=args.override, show=False)
    report = export_and_check(cfg, args.params, args.output_path, onnx=args.onnx,
                              batch_sizes=args.check_batch_sizes, atol=args.atol,
                              cpu_threads=args.cpu_threads, name=args.save_name)
    shape = ["None" if d is None else str(d) for d in report.input_shape]
    print(f"Input 'imgs': [{', '.join(shape)}] float32")
    for path in (report.model_file, report.params_file, report.onnx_file):
        if path:
            print(f"Saved {path}")
    for check in report.checks:
        print(check.message())
    if not report.ok:
        print("error: the exported model does not match the dygraph model", file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_console_logging()
    return run_reporting_errors(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
