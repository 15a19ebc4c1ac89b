"""Extract the frames of videos as JPEG files for PaddleVideo's ``FrameDataset``.

Every video ``<relative/path>.<ext>`` becomes ``<out>/<relative/path>/img_00001.jpg``,
``img_00002.jpg``, ... (1-based, 5 digits), every decodable frame, the short side optionally
resized. Videos come from a video list file (``relative/path label`` per line, as written by
``tools/build_file_list.py``; paths joined to ``--data_prefix``) or from every video under a folder.

* Parallel: ``--workers N`` processes, one video per task.
* Resumable: a video is written to ``<frame_dir>.partial`` and renamed to ``<frame_dir>`` only when
  complete, so finished videos are skipped on the next run and a video cut short by a killed run
  is extracted again from scratch.
* Loud, never stopped by bad data: an unreadable video is counted and reported with the reason
  at the end (exit status 1), the other videos are still extracted. Videos that decode
  noticeably fewer frames than their header announces (truncated files) are reported too; their
  decodable frames are kept.
* With a list file as input, the raw-frame list (``frame_dir num_frames label``, frames counted
  as written) is written next to it (``x_videos.txt`` -> ``x_rawframes.txt``, ``x.list`` ->
  ``x_frames.list``) or to ``--frames_list``; failed videos are left out of it (and named in the
  report).

Examples::

    python tools/extract_frames.py --video_dir data/ucf101/videos --out data/ucf101/rawframes \
        --short_side 256 --workers 2
    python tools/extract_frames.py --list data/k400/train.list --data_prefix data/k400/videos/train \
        --out data/k400/rawframes/train --workers 2   # -> data/k400/train_frames.list
"""
import argparse
import functools
import multiprocessing
import os
import shutil
import sys
import time
from typing import Iterable, List, NamedTuple, Optional, Sequence, TextIO, Tuple

import cv2
import numpy as np

from paddlevideo.utils.dataset_lists import (
    FRAME_TEMPLATE,
    FrameFolderError,
    count_frames,
    frame_dir_of,
    is_video,
    name_some,
    read_video_list,
    write_frames_list,
)

PARTIAL_SUFFIX = ".partial"
# Container headers of some formats estimate the frame count from the duration, so a small
# shortfall is normal; below this fraction the file is reported as probably truncated.
SHORT_FRACTION = 0.9


class Job(NamedTuple):
    """One video to extract: ``path`` on disk and ``frame_dir`` (absolute) for its frames."""
    path: str
    frame_dir: str


class Result(NamedTuple):
    """What extracting one video gave: frames written, the header's count, or the error."""
    job: Job
    frames: int
    header_frames: int
    error: Optional[str] = None


class Options(NamedTuple):
    short_side: int
    quality: int


def resize_short_side(frame: np.ndarray, short_side: int) -> np.ndarray:
    """``frame`` [H, W, 3] scaled so that min(H, W) == ``short_side`` (aspect kept); 0 = as is."""
    h, w = frame.shape[:2]
    if short_side <= 0 or min(h, w) == short_side:
        return frame
    scale = short_side / min(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # cv2 wants (width, height)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(frame, size, interpolation=interp)


def write_frames(capture: "cv2.VideoCapture", folder: str, options: Options) -> int:
    """Decode ``capture`` to the end, writing every frame as a JPEG into ``folder``; the count."""
    params = [cv2.IMWRITE_JPEG_QUALITY, options.quality]
    count = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            return count
        ok, data = cv2.imencode(".jpg", resize_short_side(frame, options.short_side), params)
        if not ok:
            raise OSError(f"JPEG encoding failed for frame {count + 1}")
        count += 1
        with open(os.path.join(folder, FRAME_TEMPLATE.format(count)), "wb") as f:
            f.write(data.tobytes())


def extract_video(job: Job, options: Options) -> Result:
    """Extract one video into ``job.frame_dir`` via a ``.partial`` folder; errors become the Result."""
    partial = job.frame_dir + PARTIAL_SUFFIX
    try:
        shutil.rmtree(partial, ignore_errors=True)
        if not os.path.isfile(job.path):
            return Result(job, 0, 0, "file does not exist")
        os.makedirs(partial)
        capture = cv2.VideoCapture(job.path)
        try:
            if not capture.isOpened():
                return Result(job, 0, 0, "OpenCV cannot open it (not a video, or an unsupported codec)")
            header = max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))
            frames = write_frames(capture, partial, options)
        finally:
            capture.release()
        if frames == 0:
            return Result(job, 0, header, f"no frame could be decoded (the header announces {header})")
        if os.path.isdir(job.frame_dir):  # empty or badly numbered: see finished_frames
            shutil.rmtree(job.frame_dir)
        os.rename(partial, job.frame_dir)
        return Result(job, frames, header)
    except (OSError, cv2.error) as err:
        return Result(job, 0, 0, f"{type(err).__name__}: {err}")
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def init_worker() -> None:
    # One OpenCV thread per process: the parallelism comes from the worker processes.
    cv2.setNumThreads(1)


def format_seconds(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """``[####    ] i/N videos, videos/s, frames/s, elapsed, ETA (, failed k)`` on ``stream``.

    On a terminal the line is redrawn in place (at most 5 times a second); otherwise (a log file)
    one line is printed every ``log_interval`` seconds and at the end. ``stream`` defaults to
    ``sys.stderr`` as it is when the bar is created.
    """

    def __init__(self, total: int, stream: Optional[TextIO] = None, log_interval: float = 10.0):
        self.total, self.stream = total, stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = 0.2 if self.tty else log_interval
        self.done = self.frames = self.failed = 0
        self.start = self.last = time.monotonic()

    def update(self, frames: int, failed: bool = False) -> None:
        self.done += 1
        self.frames += frames
        self.failed += failed
        now = time.monotonic()
        if self.done == self.total or now - self.last >= self.interval:
            self.last = now
            self.show(now - self.start)

    def show(self, elapsed: float) -> None:
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        filled = int(20 * self.done / max(1, self.total))
        line = (f"[{'#' * filled}{' ' * (20 - filled)}] {self.done}/{self.total} videos  "
                f"{rate:.2f} videos/s  {self.frames / max(elapsed, 1e-9):.0f} frames/s  "
                f"elapsed {format_seconds(elapsed)}  ETA {format_seconds(eta)}"
                + (f"  failed {self.failed}" if self.failed else ""))
        self.stream.write(f"\r{line}\x1b[K" if self.tty else f"{line}\n")
        if self.tty and self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()


def run_jobs(jobs: Sequence[Job], options: Options, workers: int) -> List[Result]:
    """Extract every job (in ``workers`` processes if > 1) with a progress bar; results unordered."""
    if not jobs:
        return []
    progress = Progress(len(jobs))

    def tracked(results: Iterable[Result]) -> List[Result]:
        done = []
        for result in results:
            done.append(result)
            progress.update(result.frames, failed=result.error is not None)
        return done

    work = functools.partial(extract_video, options=options)
    if workers == 1:
        return tracked(map(work, jobs))
    # spawn: forked children would inherit OpenCV thread pools the parent may already have used.
    context = multiprocessing.get_context("spawn")
    with context.Pool(min(workers, len(jobs)), initializer=init_worker) as pool:
        return tracked(pool.imap_unordered(work, jobs))


def list_videos(args: argparse.Namespace) -> Tuple[str, List[Tuple[str, Optional[int]]]]:
    """``(folder the paths are relative to, [(relative video path, label or None)])``."""
    if args.list:
        try:
            return args.data_prefix, read_video_list(args.list)
        except (OSError, ValueError) as err:
            raise SystemExit(f"error: cannot read --list: {err}") from err
    if not os.path.isdir(args.video_dir):
        raise SystemExit(f"error: --video_dir {args.video_dir} is not a folder")
    found = []
    for folder, dirs, files in os.walk(args.video_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = os.path.relpath(folder, args.video_dir)
        found += [(os.path.normpath(os.path.join(rel, f)), None) for f in sorted(files) if is_video(f)]
    return args.video_dir, found


def check_paths(videos: Sequence[str]) -> None:
    """Every frame folder must stay inside ``--out`` and belong to one video only."""
    outside = [v for v in videos if os.path.isabs(v) or os.path.normpath(v).startswith("..")]
    if outside:
        raise SystemExit(f"error: video paths must be relative and inside the data folder (their "
                         f"frames go under --out): {name_some(outside)}")
    seen, clashes = {}, []
    for video in videos:
        key = os.path.normpath(frame_dir_of(video))
        if key in seen:
            clashes.append(f"{seen[key]} / {video}")
        seen[key] = video
    if clashes:
        raise SystemExit(f"error: videos that would share a frame folder: {name_some(clashes)}")


def finished_frames(frame_dir: str) -> int:
    """Frames of a completed extraction in ``frame_dir``, 0 if it has to be (re)done."""
    try:
        return count_frames(frame_dir)
    except FrameFolderError:
        return 0


def report(results: Sequence[Result], skipped: int, elapsed: float) -> None:
    """The final counts on stdout; failures and truncated videos (every one named) on stderr."""
    failed = sorted((r for r in results if r.error), key=lambda r: r.job.path)
    short = sorted((r for r in results if not r.error and r.frames < SHORT_FRACTION * r.header_frames),
                   key=lambda r: r.job.path)
    frames = sum(r.frames for r in results)
    print(f"extracted {len(results) - len(failed)} videos ({frames} frames) in {elapsed:.1f} s "
          f"({frames / max(elapsed, 1e-9):.0f} frames/s); skipped {skipped} already extracted; "
          f"failed {len(failed)}")
    if short:
        print(f"warning: {len(short)} videos decoded fewer frames than their header announces "
              f"(truncated or damaged?); their decodable frames were kept:", file=sys.stderr)
        for r in short:
            print(f"  {r.job.path}: {r.frames} of {r.header_frames} frames", file=sys.stderr)
    if failed:
        print(f"error: {len(failed)} videos could not be extracted:", file=sys.stderr)
        for r in failed:
            print(f"  {r.job.path}: {r.error}", file=sys.stderr)


def default_frames_list(video_list: str) -> str:
    """The raw-frame list next to a video list, named as the configs expect:
    ``x_videos.txt`` -> ``x_rawframes.txt`` (UCF101), otherwise ``train.list`` -> ``train_frames.list``."""
    stem, ext = os.path.splitext(video_list)
    if stem.endswith("_videos"):
        return f"{stem.removesuffix('_videos')}_rawframes{ext}"
    return f"{stem}_frames{ext}"


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Extract video frames to <out>/<video path without extension>/img_00001.jpg ...")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--list", help="video list file ('relative/path label' per line)")
    source.add_argument("--video_dir", help="extract every video under this folder")
    parser.add_argument("--data_prefix", default="", help="folder the --list paths are relative to")
    parser.add_argument("--out", required=True, help="root folder of the frame folders")
    parser.add_argument("--frames_list", default=None,
                        help="raw-frame list to write (--list only; default: next to --list, "
                             "x_videos.txt -> x_rawframes.txt, x.list -> x_frames.list)")
    parser.add_argument("--short_side", type=int, default=0,
                        help="resize frames so the short side has this many pixels (0: keep)")
    parser.add_argument("--quality", type=int, default=95, help="JPEG quality, 1-100 (default 95)")
    parser.add_argument("--workers", type=int, default=1,
                        help="parallel processes (default 1; one video per task)")
    args = parser.parse_args(argv)
    if args.video_dir and args.frames_list:
        parser.error("--frames_list needs --list (labels come from the video list); for a folder "
                     "of UCF101 videos use tools/build_file_list.py ucf101 --frames_root")
    if args.short_side < 0 or not 1 <= args.quality <= 100 or args.workers < 1:
        parser.error("need --short_side >= 0, 1 <= --quality <= 100, --workers >= 1")
    return args


def plan(prefix: str, videos: Sequence[str], out: str) -> Tuple[dict, dict]:
    """``(video -> frames already extracted, video -> Job)``: a job for each unfinished video."""
    done, pending = {}, {}
    for video in dict.fromkeys(videos):  # unique, in list order
        frame_dir = os.path.join(out, frame_dir_of(video))
        frames = finished_frames(frame_dir)
        if frames:
            done[video] = frames
        else:
            pending[video] = Job(os.path.join(prefix, video), frame_dir)
    return done, pending


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    prefix, videos = list_videos(args)
    check_paths([video for video, _ in videos])
    counts, pending = plan(prefix, [video for video, _ in videos], args.out)
    print(f"{len(counts) + len(pending)} videos: {len(counts)} already extracted, {len(pending)} to "
          f"extract into {args.out} (workers: {args.workers})")
    start = time.monotonic()
    results = run_jobs(list(pending.values()), Options(args.short_side, args.quality), args.workers)
    report(results, len(counts), time.monotonic() - start)
    frames_of = {r.job: r.frames for r in results}
    counts.update((video, frames_of[job]) for video, job in pending.items())
    if args.list:
        path = args.frames_list or default_frames_list(args.list)
        rows = [(frame_dir_of(v), counts[v], label) for v, label in videos if counts[v]]
        print(f"wrote {write_frames_list(path, rows)} entries to {path} "
              f"({len(videos) - len(rows)} listed videos without frames left out)")
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
