"""Clips per second through a config's training data pipeline, from videos and from raw frames.

    python tools/benchmark/loader.py [-c CONFIG] [--samples 64] [--batch_size 8] [--workers 0 1 2]
        [--sources videos frames] [--passes 3] [--profile] [--cv2_threads N] [--read_timeouts 60 0]

The shipped example videos (``data/example/*.avi``, 320x240 UCF101 clips) are repeated in a
temporary list to ``--samples`` entries and loaded with the project's own ``build_loader`` and the
config's ``PIPELINE.train`` (decode, sample, scale, crop, flip, colour jitter, normalisation), as
training does. For raw frames, the same videos are first extracted with OpenCV into the temporary
folder as ``<video>/img_00001.jpg, ...`` and read with ``FrameDataset`` + ``FrameDecoder``.

Each (source, workers, read timeout) row is the median of ``--passes`` full passes over the list
(worker start-up included, as Paddle starts workers anew for every epoch). ``--read_timeouts 60 0``
compares reads in a reader process with a deadline (``DATASET.read_timeout``, the default) against
reads in the loading process itself. ``--profile`` adds the mean time of each
pipeline op per clip, measured in this process. The model is not run: this is the input side only.
"""
import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DEFAULT_CONFIG = os.path.join(ROOT, "configs", "recognition", "tokshift",
                              "tokshift_ucf101_256_8f.yaml")
EXAMPLE_DIR = os.path.join(ROOT, "data", "example")
EXAMPLE_VIDEOS = ("BrushingTeeth.avi", "archery_example.avi")
FRAME_TEMPLATE = "img_{:05d}.jpg"
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16", "amx_int8")


def cpu_summary() -> str:
    """CPU model, usable cores, the SIMD flags that matter to Paddle/oneDNN, and the load."""
    model, flags = platform.processor() or "unknown", set()
    if os.path.isfile("/proc/cpuinfo"):
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    present = [f for f in CPU_FLAGS if f in flags]
    absent = [f for f in CPU_FLAGS if f not in flags]
    # other processes on the machine skew every row; the load average says how busy it was
    load = f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "n/a"
    return (f"CPU: {model}, {cores} usable cores; flags: {' '.join(present) or '-'} "
            f"(absent: {' '.join(absent) or '-'}); OpenCV threads: {cv2.getNumThreads()}; "
            f"1-min load average at start: {load}")


def extract_frames(video: str, frame_dir: str) -> int:
    """Write every decodable frame of ``video`` as ``frame_dir/img_00001.jpg, ...``; their count."""
    os.makedirs(frame_dir, exist_ok=True)
    capture = cv2.VideoCapture(video)
    count = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        count += 1
        if not cv2.imwrite(os.path.join(frame_dir, FRAME_TEMPLATE.format(count)), frame):
            raise OSError(f"cannot write frame {count} of {video} into {frame_dir}")
    capture.release()
    if count == 0:
        raise OSError(f"OpenCV decoded no frame of {video}")
    return count


def write_list(path: str, entries: Sequence[str], samples: int) -> str:
    """A list file holding ``entries`` (one sample line each) cycled to ``samples`` lines."""
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(samples):
            handle.write(entries[i % len(entries)] + "\n")
    return path


def prepare_sources(tmp: str, samples: int, sources: Sequence[str]) -> Dict[str, Tuple[str, str]]:
    """``{source: (data_prefix, list file)}`` for ``videos`` and/or ``frames`` under ``tmp``."""
    prepared = {}
    if "videos" in sources:
        entries = [f"{name} {label}" for label, name in enumerate(EXAMPLE_VIDEOS)]
        prepared["videos"] = (EXAMPLE_DIR, write_list(os.path.join(tmp, "videos.txt"), entries,
                                                      samples))
    if "frames" in sources:
        frames_root = os.path.join(tmp, "frames")
        entries = []
        for label, name in enumerate(EXAMPLE_VIDEOS):
            stem = os.path.splitext(name)[0]
            count = extract_frames(os.path.join(EXAMPLE_DIR, name), os.path.join(frames_root, stem))
            entries.append(f"{stem} {count} {label}")
        prepared["frames"] = (frames_root, write_list(os.path.join(tmp, "frames.txt"), entries,
                                                      samples))
    return prepared


def source_overrides(source: str, prefix: str, list_path: str, batch_size: int,
                     workers: int, read_timeout: float) -> List[str]:
    """Config overrides pointing ``DATASET.train`` at the temporary list of ``source``."""
    overrides = [f"DATASET.train.data_prefix={prefix}", f"DATASET.train.file_path={list_path}",
                 f"DATASET.batch_size={batch_size}", f"DATASET.num_workers={workers}",
                 f"DATASET.read_timeout={read_timeout}"]
    if source == "frames":
        overrides += ["DATASET.train.format=FrameDataset",
                      "PIPELINE.train.decode.name=FrameDecoder"]
    return overrides


def time_passes(cfg, passes: int) -> Tuple[List[float], int, int]:
    """Seconds of each full pass over the train loader, clips per pass, failed samples in total."""
    from paddlevideo.loader.batch import split_batch
    from paddlevideo.loader.builder import build_loader

    loader = build_loader(cfg, "train", seed=0)
    seconds, clips, failures = [], 0, 0
    for epoch in range(passes):
        # as the trainer prepares an epoch: its sample order and per-sample augmentation seeds
        loader.batch_sampler.set_epoch(epoch)
        loader.dataset.seed_samples(0, epoch)
        start, clips = time.perf_counter(), 0
        for batch in loader:
            _, meta = split_batch(batch)
            clips += len(meta.indices)
            failures += len(meta.failures)
        seconds.append(time.perf_counter() - start)
    return seconds, clips, failures


def profile_ops(cfg, clips: int) -> Dict[str, float]:
    """Mean milliseconds per clip of each ``PIPELINE.train`` op over the first ``clips`` samples."""
    from paddlevideo.loader.builder import build_dataset

    dataset = build_dataset(cfg, "train")
    totals: Dict[str, float] = {}
    np.random.seed(0)
    for idx in range(min(clips, len(dataset))):
        results = dict(dataset.samples[idx])
        for op in dataset.pipeline.ops:
            start = time.perf_counter()
            results = op(results)
            name = type(op).__name__
            totals[name] = totals.get(name, 0.0) + time.perf_counter() - start
    count = min(clips, len(dataset))
    return {name: 1000.0 * total / count for name, total in totals.items()}


def print_profile(profiles: Dict[str, Dict[str, float]]) -> None:
    """One row per op, one column per source (ms per clip)."""
    sources = list(profiles)
    ops = list(dict.fromkeys(op for profile in profiles.values() for op in profile))
    # pipeline order: an op's position in the pipelines that have it (decoders tie at 0)
    ops.sort(key=lambda op: min(list(p).index(op) for p in profiles.values() if op in p))
    print("\nper-op time in this process, ms per clip (mean)")
    print(f"| op | {' | '.join(sources)} |")
    print("|---|" + "---:|" * len(sources))
    for op in ops:
        cells = " | ".join(f"{profiles[s][op]:.1f}" if op in profiles[s] else "-" for s in sources)
        print(f"| {op} | {cells} |")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", default=DEFAULT_CONFIG)
    parser.add_argument("--samples", type=int, default=64, help="list entries per pass")
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sources", nargs="+", choices=("videos", "frames"),
                        default=["videos", "frames"])
    parser.add_argument("--passes", type=int, default=3, help="timed passes per row (median)")
    parser.add_argument("--profile", action="store_true", help="also time each op in-process")
    parser.add_argument("--read_timeouts", type=float, nargs="+", default=[60.0],
                        help="DATASET.read_timeout values to compare (0: read in the loading process)")
    parser.add_argument("--cv2_threads", type=int, default=None,
                        help="cv2.setNumThreads before the loaders start (default: OpenCV's own, "
                             "as in training); workers inherit it")
    args = parser.parse_args(argv)
    if args.samples < args.batch_size or args.batch_size < 1 or args.passes < 1:
        parser.error("need --samples >= --batch_size >= 1 and --passes >= 1")
    return args


def run_benchmark(args: argparse.Namespace) -> int:
    from paddlevideo.config import get_config

    if args.cv2_threads is not None:
        cv2.setNumThreads(args.cv2_threads)
    print(cpu_summary())
    print(f"config: {os.path.relpath(args.config, ROOT)}, PIPELINE.train; {args.samples} samples "
          f"from {', '.join(EXAMPLE_VIDEOS)} (320x240); batch {args.batch_size}; "
          f"median of {args.passes} passes\n")
    print("| source | workers | read_timeout | clips/pass | s/pass (min-max) | clips/s | failed |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    profiles = {}
    with tempfile.TemporaryDirectory(prefix="benchmark_loader_") as tmp:
        for source, (prefix, list_path) in prepare_sources(tmp, args.samples, args.sources).items():
            for workers in args.workers:
                for timeout in args.read_timeouts:
                    cfg = get_config(args.config, overrides=source_overrides(
                        source, prefix, list_path, args.batch_size, workers, timeout))
                    seconds, clips, failures = time_passes(cfg, args.passes)
                    median = statistics.median(seconds)
                    print(f"| {source} | {workers} | {timeout:g} | {clips} | {median:.2f} ({min(seconds):.2f}-"
                          f"{max(seconds):.2f}) | {clips / median:.1f} | {failures} |", flush=True)
            if args.profile:
                profiles[source] = profile_ops(cfg, args.samples)
    if profiles:
        print_profile(profiles)
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    from paddlevideo.utils.cli import run_reporting_errors

    return run_reporting_errors(lambda: run_benchmark(args))


if __name__ == "__main__":
    sys.exit(main())
