"""Train the demo TokShift, ViT baseline and TimeSformer on the same synthetic data; print their accuracies.

The demo classes come in time-reversed pairs, so the order-blind ViT baseline can reach only ~50%
top-1 while TokShift should approach 100%; TimeSformer sees frame order through its time embedding and
temporal attention. Usage: ``python tools/benchmark/demo.py [--epochs N] [--models NAME ...]``.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG_DIR = os.path.join(ROOT, "configs", "recognition")
MODELS = {"demo_tokshift_tiny": ("TokShift (shift_div 4)", "tokshift"),
          "demo_vit_tiny": ("ViT baseline (shift_div 0)", "tokshift"),
          "demo_timesformer_tiny": ("TimeSformer (divided)", "timesformer")}


def run(cmd):
    subprocess.run(cmd, check=True, cwd=ROOT)


def train_and_test(name: str, data: str, out_root: str, seed: int, epochs):
    """Train ``name`` with validation, then test its best checkpoint; returns (test results, seconds)."""
    cfg = os.path.join(CONFIG_DIR, MODELS[name][1], f"{name}.yaml")
    out = os.path.join(out_root, name)
    sets = [f"output_dir={out}"]
    for mode, split in (("train", "train"), ("valid", "val"), ("test", "val")):
        sets += [f"DATASET.{mode}.data_prefix={data}/videos", f"DATASET.{mode}.file_path={data}/{split}.list"]
    if epochs:
        sets.append(f"epochs={epochs}")
    overrides = [arg for item in sets for arg in ("-o", item)]
    start = time.time()
    run([sys.executable, "main.py", "-c", cfg, "--validate", "--seed", str(seed)] + overrides)
    seconds = time.time() - start
    run([sys.executable, "main.py", "-c", cfg, "--test", "-w", os.path.join(out, f"{name}_best.pdparams")]
        + overrides)
    with open(os.path.join(out, "test_results.json"), encoding="utf-8") as f:
        return json.load(f), seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(ROOT, "data", "demo"))
    parser.add_argument("--out", default=os.path.join(ROOT, "output", "benchmark_demo"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="override the configs' epochs")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS),
                        help="which demo configs to train (default: all)")
    args = parser.parse_args()
    run([sys.executable, os.path.join("data", "generate_demo_data.py"), "--out", args.data])
    rows = [(MODELS[name][0], *train_and_test(name, args.data, args.out, args.seed, args.epochs))
            for name in args.models]
    print(f"\n{'model':<28} {'top-1':>7} {'top-5':>7} {'train time':>11}")
    for label, results, seconds in rows:
        print(f"{label:<28} {results['top1']:>7.2%} {results['top5']:>7.2%} {seconds:>10.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
