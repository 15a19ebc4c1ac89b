"""Train or test a video model from a config: ``python main.py -c CONFIG [--validate | --test -w W]``."""
import argparse
import logging
import sys
from contextlib import nullcontext

from paddlevideo.config import DEFAULTS, format_config, get_config, setting
from paddlevideo.cpu import setup_cpu
from paddlevideo.errors import ConfigError, OutputDirError
from paddlevideo.utils.atomic import describe_write_error
from paddlevideo.utils.cli import run_reporting_errors
from paddlevideo.utils.logger import setup_logger


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="PaddleVideo-style training and testing of video transformers (TokShift, ViT baseline, TimeSformer)")
    parser.add_argument("-c", "--config", required=True, help="YAML config file")
    parser.add_argument("-o", "--override", action="append", default=[],
                        help="override a config key: -o MODEL.backbone.depth=2 (repeatable)")
    parser.add_argument("--test", action="store_true", help="evaluate -w WEIGHTS on DATASET.test")
    parser.add_argument("--validate", action="store_true", help="validate after epochs, keep the best")
    parser.add_argument("-w", "--weights", help="weights: checkpoint to test, or to fine-tune from")
    parser.add_argument("--seed", type=int, default=None,
                        help=f"random seed (default: the config's seed, else {DEFAULTS['seed']})")
    parser.add_argument("--amp", action="store_true", help="mixed precision (GPU only; fp32 on CPU)")
    parser.add_argument("--amp_level", default=None, choices=["O1", "O2"], help="AMP level (default O1)")
    parser.add_argument("--amp_dtype", default="float16", choices=["float16", "bfloat16"],
                        help="AMP compute type (bfloat16 needs no loss scaling)")
    parser.add_argument("--resume", help="continue a run: a checkpoint (<model_name>_epoch_N or _latest "
                                         ".pdparams, with its .pdopt) or 'auto' (the newest in output_dir)")
    parser.add_argument("--max_iters", type=int, default=None, help="at most this many batches per epoch")
    parser.add_argument("-p", "--profiler_options", default=None,
                        help='profile training steps: "batch_range=[10,20];profile_path=./profiler_log;timer_only=False"')
    for flag, what in UNSUPPORTED.items():
        parser.add_argument(flag, action="store_true", help=f"PaddleVideo's {what} (not supported here)")
    return parser.parse_args(argv)


UNSUPPORTED = {"--fleet": "fleet training", "--multigrid": "multigrid training (SlowFast)",
               "--train_dali": "DALI data loading (TSN)"}


def check_supported(args: argparse.Namespace) -> None:
    """PaddleVideo flags for training modes this project does not have: a clear error, not a silent no-op."""
    for flag, what in UNSUPPORTED.items():
        if getattr(args, flag.lstrip("-")):
            raise ConfigError(f"{flag}: {what} is not supported; data-parallel training runs with "
                              f"python -m paddle.distributed.launch main.py ...")


def open_log(cfg: dict, filename: str, rank: int) -> logging.Logger:
    """The logger, now also writing ``output_dir/filename``.

    Raises:
        OutputDirError: ``output_dir`` cannot take the log (read-only, full), as one line.
    """
    try:
        return setup_logger(cfg["output_dir"], level=cfg.get("log_level", "INFO"), filename=filename, rank=rank)
    except OSError as err:
        raise OutputDirError(f"cannot write {filename}: {describe_write_error(err, cfg['output_dir'])}") from err


def run(args: argparse.Namespace) -> None:
    check_supported(args)
    import paddle.distributed as dist

    from paddlevideo.utils.run_lock import run_lock
    from paddlevideo.utils.runtime import select_device

    setup_logger(rank=dist.get_rank())  # the console, for what reading the config has to say
    cfg = get_config(args.config, overrides=args.override, show=False)
    select_device()
    # Training holds output_dir's run lock from before train.log opens: a refused second run writes nothing there.
    with run_lock(cfg["output_dir"]) if not args.test and dist.get_rank() == 0 else nullcontext():
        run_task(args, cfg, open_log(cfg, "test.log" if args.test else "train.log", dist.get_rank()))


def run_task(args: argparse.Namespace, cfg: dict, logger: logging.Logger) -> None:
    from paddlevideo.tasks import test_model, train_model
    from paddlevideo.utils.runtime import set_seed

    logger.info("%s", setup_cpu().summary())
    logger.info("config %s (overrides %s):\n%s", args.config, args.override, format_config(cfg))
    seed = args.seed if args.seed is not None else setting(cfg, "seed")
    set_seed(seed)
    if args.test:
        if not args.weights:
            raise ConfigError("--test needs -w WEIGHTS")
        test_model(cfg, args.weights, use_amp=args.amp, amp_level=args.amp_level, amp_dtype=args.amp_dtype)
    else:
        train_model(cfg, args.weights, validate=args.validate, use_amp=args.amp, amp_level=args.amp_level,
                    max_iters=args.max_iters, profiler_options=args.profiler_options, amp_dtype=args.amp_dtype,
                    resume=args.resume, seed=seed)


def main(argv=None) -> int:
    args = parse_args(argv)
    return run_reporting_errors(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
