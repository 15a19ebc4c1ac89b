"""Time one training step (forward, backward, optimizer) of a config's model on random clips.

    python tools/benchmark/train.py [-c CONFIG] [--batch_size 1] [--steps 4] [--threads 2]

Defaults to ViT-B/16 TokShift 8x224 on 2 CPU threads, the setting of the reference timings measured
on this machine: official PyTorch 3.0-3.8 s per step, PaddleVideo's port 8.7 s (with std-0.02 init).
The first step is warm-up and is not counted. ``tools/benchmark/torch_compare.py`` times ours and the
official PyTorch model side by side in one alternating run (other processes on the cores move every
absolute number; only same-run ratios compare).
"""
import argparse
import os
import statistics
import sys
import time

from paddlevideo.cpu import setup_cpu, setup_cpu_device

DEFAULT_CONFIG = os.path.join("configs", "recognition", "tokshift", "k400_tokshift_div4_8x32_base_224.yaml")


def training_setup(cfg, batch_size: int, steps: int):
    """The config's model (seed 0, train mode), optimizer and one random batch: ``(model, optimizer, batch)``."""
    import paddle

    from paddlevideo.modeling.builder import build_model
    from paddlevideo.solver import build_optimizer

    paddle.seed(0)
    model = build_model(cfg["MODEL"])
    model.train()
    optimizer, _ = build_optimizer(cfg["OPTIMIZER"], model, iters_per_epoch=steps, epochs=1)
    backbone = cfg["MODEL"]["backbone"]
    size, frames = backbone["img_size"], backbone["num_seg"]
    imgs = paddle.randn([batch_size, 3, frames, size, size])
    labels = paddle.randint(0, cfg["MODEL"]["head"]["num_classes"], [batch_size])
    return model, optimizer, [imgs, labels]


def timed_step(model, optimizer, batch):
    """One training step; its ``(forward, backward, optimizer)`` seconds."""
    t0 = time.perf_counter()
    loss = model(batch, mode="train")["loss"]
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    optimizer.step()
    optimizer.clear_grad()
    return t1 - t0, t2 - t1, time.perf_counter() - t2


def time_steps(cfg, batch_size: int, steps: int):
    """Per-step ``(forward, backward, optimizer)`` seconds, warm-up step excluded."""
    model, optimizer, batch = training_setup(cfg, batch_size, steps)
    return [timed_step(model, optimizer, batch) for _ in range(steps + 1)][1:]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", default=DEFAULT_CONFIG)
    parser.add_argument("--batch_size", type=int, default=1)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    setup_cpu(threads=args.threads)  # before Paddle is imported: eager kernels read it once
    setup_cpu_device()  # a CPU benchmark: the CPU-only settings too
    from paddlevideo.config import get_config
    from paddlevideo.utils.cli import run_reporting_errors

    def run():
        # a zero-initialised classifier (std 0) would make the first backward trivially cheap
        cfg = get_config(args.config, overrides=["MODEL.head.std=0.02"])
        rows = time_steps(cfg, args.batch_size, args.steps)
        fwd, bwd, opt = (statistics.median(r[i] for r in rows) for i in range(3))
        print(f"{cfg['model_name']}: batch {args.batch_size}, {args.threads} threads, median of {len(rows)} steps")
        print(f"forward {fwd:.2f} s  backward {bwd:.2f} s  optimizer {opt:.2f} s  step {fwd + bwd + opt:.2f} s")

    return run_reporting_errors(run)


if __name__ == "__main__":
    sys.exit(main())
