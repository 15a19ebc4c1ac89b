"""Convert a TokShift / TimeSformer / ViT checkpoint to a full PaddleVideo ``.pdparams`` that ``main.py
--test -w`` loads.

    python tools/convert_weights.py SRC DST [-c CONFIG [-o KEY=VALUE ...]]

SRC is detected by content (PyTorch files are read without PyTorch): an official TokShift ``.pth``, an
official TimeSformer ``.pyth`` (``model_state``, timm names), a Google ViT ``.npz`` with its head, or a
PaddleVideo TokShift / TimeSformer / PaddleClas ViT ``.pdparams``. DST holds
``backbone.*`` and ``head.fc.*`` with the checkpoint's own position-embedding grid. With ``-c`` the
result is also loaded strictly into that config's model (position embeddings resampled to its
``img_size``), so a wrong depth, width or class count fails here rather than at test time.
"""
import argparse
import os
import sys

from paddlevideo.errors import ConfigError


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Convert TokShift/TimeSformer/ViT weights to a PaddleVideo .pdparams")
    parser.add_argument("src", help="official TokShift .pth, official TimeSformer .pyth, Google ViT .npz, "
                                    "or PaddleVideo/PaddleClas .pdparams")
    parser.add_argument("dst", help="output .pdparams (written atomically)")
    parser.add_argument("-c", "--config", help="verify that DST loads strictly into this config's model")
    parser.add_argument("-o", "--override", action="append", default=[],
                        help="config override used with -c: -o MODEL.backbone.num_seg=16 (repeatable)")
    return parser.parse_args(argv)


def verify_against_config(state, config: str, overrides, source: str) -> None:
    """Build the config's model (no init) and load ``state`` strictly; raises ConfigError on misfit."""
    from paddlevideo.config import get_config
    from paddlevideo.modeling.builder import build_model
    from paddlevideo.modeling.weights.loading import load_weights

    cfg = get_config(config, overrides=overrides)
    model = build_model(cfg["MODEL"], init=False)
    load_weights(model, state, source=source, strict=True)


def convert(args: argparse.Namespace) -> dict:
    """Read, summarise, optionally verify, and write; returns the summary."""
    from paddlevideo.modeling.weights import read_weights, summarize
    from paddlevideo.utils.checkpoint import save_atomic

    if os.path.abspath(args.src) == os.path.abspath(args.dst):
        raise ConfigError("DST must differ from SRC")
    weights = read_weights(args.src)
    summary = summarize(weights)
    for key, value in summary.items():
        print(f"{key:>12}: {value}")
    print(f"{'note':>12}: num_seg, shift_div and attention_type are not stored in weights; they come from the "
          f"config")
    if "head.fc.weight" not in weights.state:
        raise ConfigError(f"{args.src} has no classifier, so it is not a full model; use it as "
                          f"MODEL.backbone.pretrained instead")
    if args.config:
        verify_against_config(weights.state, args.config, args.override, args.src)
        print(f"{'verified':>12}: loads strictly into the model of {args.config}")
    save_atomic(weights.state, args.dst)
    print(f"{'wrote':>12}: {args.dst} ({len(weights.state)} tensors)")
    return summary


def main(argv=None) -> int:
    args = parse_args(argv)
    from paddlevideo.utils.logger import setup_logger

    setup_logger()
    from paddlevideo.utils.cli import run_reporting_errors

    return run_reporting_errors(lambda: convert(args))


if __name__ == "__main__":
    sys.exit(main())
