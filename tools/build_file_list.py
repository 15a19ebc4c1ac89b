"""Write PaddleVideo list files (labels 0-based) for UCF101 and for class-folder trees such as Kinetics-400.

Two sources:

* ``ucf101``: the official split files (``trainlistNN.txt`` / ``testlistNN.txt`` + ``classInd.txt``,
  shipped in ``data/ucf101/annotations``), splits 1-3 or ``all``. Always writes the video lists
  ``ucf101_{train,val}_split_N_videos.txt`` (``relative/path.avi label``); with ``--frames_root``
  also the raw-frame lists ``ucf101_{train,val}_split_N_rawframes.txt``
  (``relative/path num_frames label``, frames counted on disk). Videos without extracted frames
  are an error that names them (``--skip_missing`` leaves them out with a warning instead).
* ``folders``: a tree ``ROOT/<class name>/<video>`` (e.g. one Kinetics-400 split) and a label list
  (``<idx> <name>`` or one name per line, e.g. ``data/k400/kinetics400_label_list.txt``). Class
  folders match label names ignoring case, spaces vs underscores and punctuation ('air drumming',
  'air_drumming'); listed paths stay exactly as on disk. Every folder missing from the label list
  is named in one error; label-list classes without videos are named in a warning.

Examples::

    python tools/build_file_list.py ucf101 --split all --out data/ucf101
    python tools/build_file_list.py ucf101 --split all --out data/ucf101 \
        --frames_root data/ucf101/rawframes
    python tools/build_file_list.py folders --root data/k400/videos/train \
        --labels data/k400/kinetics400_label_list.txt --out data/k400/train.list
"""
import argparse
import difflib
import os
import re
import sys
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

from paddlevideo.utils.dataset_lists import (
    FrameFolderError,
    count_frames,
    frame_dir_of,
    is_video,
    name_some,
    write_frames_list,
    write_video_list,
)

UCF101_SPLITS = (1, 2, 3)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def read_label_names(path: str) -> Dict[str, int]:
    """``name -> 0-based index`` from ``<idx> <name>`` lines (1-based in UCF101's classInd) or bare
    names (index = line order). Names may contain spaces.

    Raises:
        SystemExit: duplicate names, or indices that are not consecutive.
    """
    with open(path, encoding="utf-8") as f:
        lines = [line.strip() for line in f if line.strip()]
    fields = [line.split(None, 1) for line in lines]
    if fields and all(len(parts) == 2 and parts[0].isdigit() for parts in fields):
        base = min(int(parts[0]) for parts in fields)
        names = {parts[1]: int(parts[0]) - base for parts in fields}
    else:
        names = {line: i for i, line in enumerate(lines)}
    if len(names) != len(lines) or sorted(names.values()) != list(range(len(lines))):
        raise SystemExit(f"error: label list {path}: names must be unique and indices consecutive")
    return names


def ucf101_split(annotations: str, split: int, test: bool) -> List[Tuple[str, int]]:
    """Entries of an official UCF101 split; labels come from the class folder via classInd."""
    classes = read_label_names(os.path.join(annotations, "classInd.txt"))
    name = f"{'testlist' if test else 'trainlist'}{split:02d}.txt"
    entries = []
    with open(os.path.join(annotations, name), encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            path = line.split()[0]
            cls = path.split("/")[0]
            if cls not in classes:
                raise SystemExit(f"error: {name} line {lineno}: class '{cls}' is not in classInd.txt")
            entries.append((path, classes[cls]))
    return entries


def count_all_frames(frames_root: str, videos: Sequence[str]) -> Tuple[Dict[str, int], Dict[str, str]]:
    """Frame counts of the videos' frame folders under ``frames_root``.

    Returns:
        ``(counts, problems)``: ``video -> number of frames`` for complete folders, and
        ``video -> reason`` for missing, empty or badly numbered ones.
    """
    counts, problems = {}, {}
    for video in videos:
        frame_dir = os.path.join(frames_root, frame_dir_of(video))
        try:
            counts[video] = count_frames(frame_dir)
        except FrameFolderError as err:
            problems[video] = f"{frame_dir}: {err}"
            continue
        if counts[video] == 0:
            problems[video] = f"{frame_dir}: no frames"
            del counts[video]
    return counts, problems


def report_missing_frames(problems: Dict[str, str], total: int, frames_root: str, skip: bool) -> None:
    """Name the videos without usable frames (the first 20 of them, and how many in all): a warning
    with ``skip``, else one error."""
    missing = sorted(problems)
    message = "\n".join(
        [f"{len(missing)} of {total} videos have no usable frames under {frames_root} (expected "
         f"<frames_root>/<video path without extension>/img_00001.jpg ...):"]
        + [f"  {problems[video]}" for video in missing[:20]]
        + ([f"  ... and {len(missing) - 20} more"] if len(missing) > 20 else []))
    if skip:
        warn(f"{message}\nThey are left out of the raw-frame lists.")
        return
    hint = "Is --frames_root right? " if len(missing) == total else ""
    raise SystemExit(f"error: {message}\n{hint}Extract them with tools/extract_frames.py, or pass "
                     f"--skip_missing to write the lists without them.")


def run_ucf101(args: argparse.Namespace) -> None:
    splits = UCF101_SPLITS if args.split == "all" else (int(args.split),)
    lists = {(split, tag): ucf101_split(args.annotations, split, tag == "val")
             for split in splits for tag in ("train", "val")}
    counts: Dict[str, int] = {}
    if args.frames_root:
        videos = sorted({video for entries in lists.values() for video, _ in entries})
        counts, problems = count_all_frames(args.frames_root, videos)
        if problems:
            report_missing_frames(problems, len(videos), args.frames_root, args.skip_missing)
    for (split, tag), entries in lists.items():
        path = os.path.join(args.out, f"ucf101_{tag}_split_{split}_videos.txt")
        print(f"wrote {write_video_list(path, entries)} entries to {path}")
        if args.frames_root:
            path = os.path.join(args.out, f"ucf101_{tag}_split_{split}_rawframes.txt")
            rows = [(frame_dir_of(v), counts[v], label) for v, label in entries if v in counts]
            print(f"wrote {write_frames_list(path, rows)} entries to {path}")


def class_key(name: str) -> str:
    """The matching key of a class name: lower case, apostrophes dropped, every other run of
    non-alphanumerics one space ("passing_American_football_(in_game)" and
    "passing American football (in game)" agree)."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", name.lower().replace("'", "")).split())


def keyed_labels(labels: Dict[str, int]) -> Dict[str, int]:
    """``class_key(name) -> label``; names that would collide are an error."""
    keyed: Dict[str, List[str]] = defaultdict(list)
    for name in labels:
        keyed[class_key(name)].append(name)
    clashes = [names for names in keyed.values() if len(names) > 1]
    if clashes:
        raise SystemExit(f"error: label names that differ only in case, spaces/underscores or "
                         f"punctuation cannot be matched to folders: {clashes}")
    return {key: labels[names[0]] for key, names in keyed.items()}


def class_folders(root: str, labels: Dict[str, int]) -> Dict[str, int]:
    """``folder name -> label`` for every class folder under ``root`` (hidden ones ignored).

    Raises:
        SystemExit: ``root`` is not a folder, or naming ALL folders that match no label.
    """
    if not os.path.isdir(root):
        raise SystemExit(f"error: --root {root} is not a folder")
    keyed = keyed_labels(labels)
    folders = sorted(d.name for d in os.scandir(root) if d.is_dir() and not d.name.startswith("."))
    unknown = [d for d in folders if class_key(d) not in keyed]
    if unknown:
        names = {class_key(n): n for n in labels}
        lines = []
        for folder in unknown:
            close = difflib.get_close_matches(class_key(folder), list(names), n=1)
            lines.append(f"  {folder!r}" + (f" (closest label: {names[close[0]]!r})" if close else ""))
        raise SystemExit(f"error: {len(unknown)} of {len(folders)} class folders under {root} are not "
                         f"in the label list (case, spaces/underscores and punctuation are ignored "
                         f"when matching):\n" + "\n".join(lines))
    return {d: keyed[class_key(d)] for d in folders}


def folder_entries(root: str, labels: Dict[str, int]) -> List[Tuple[str, int]]:
    """``(class folder/video as on disk, label)`` for every video directly in ``root/<class>/``.

    Warns about label-list classes without videos, classes found in two folders and ignored
    non-video files. Raises SystemExit naming every folder that matches no label.
    """
    entries, ignored = [], []
    folders_of: Dict[int, List[str]] = defaultdict(list)
    for folder, label in class_folders(root, labels).items():
        folders_of[label].append(folder)
        for entry in sorted(os.scandir(os.path.join(root, folder)), key=lambda e: e.name):
            if entry.is_file() and is_video(entry.name):
                entries.append((f"{folder}/{entry.name}", label))
            elif not entry.name.startswith("."):
                ignored.append(f"{folder}/{entry.name}")
    report_folder_warnings(root, labels, entries, folders_of, ignored)
    return entries


def report_folder_warnings(root: str, labels: Dict[str, int], entries: List[Tuple[str, int]],
                           folders_of: Dict[int, List[str]], ignored: List[str]) -> None:
    used = {label for _, label in entries}
    empty = [name for name, label in sorted(labels.items(), key=lambda kv: kv[1]) if label not in used]
    if empty:
        warn(f"{len(empty)} of {len(labels)} classes of the label list have no videos under {root}: "
             + ", ".join(repr(n) for n in empty))
    doubled = [folders for folders in folders_of.values() if len(folders) > 1]
    if doubled:
        warn(f"classes found in more than one folder (all are listed): {doubled}")
    if ignored:
        warn(f"ignored {len(ignored)} entries that are not video files: {name_some(ignored, 5)}")


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Build PaddleVideo list files (videos or raw frames)")
    sub = parser.add_subparsers(dest="source", required=True)
    ucf = sub.add_parser("ucf101", help="from the official UCF101 split files")
    ucf.add_argument("--annotations", default="data/ucf101/annotations",
                     help="folder with classInd.txt, trainlistNN.txt, testlistNN.txt")
    ucf.add_argument("--split", default="1", choices=["1", "2", "3", "all"])
    ucf.add_argument("--out", default="data/ucf101", help="folder for the list files")
    ucf.add_argument("--frames_root", default=None,
                     help="also write raw-frame lists, counting the frames of each video in "
                          "<frames_root>/<class>/<video name without extension>/")
    ucf.add_argument("--skip_missing", action="store_true",
                     help="leave videos without extracted frames out of the raw-frame lists "
                          "(with a warning) instead of failing")
    folders = sub.add_parser("folders", help="from ROOT/<class>/<video> folders and a label list")
    folders.add_argument("--root", required=True, help="one split, e.g. data/k400/videos/train")
    folders.add_argument("--labels", required=True, help="e.g. data/k400/kinetics400_label_list.txt")
    folders.add_argument("--out", required=True, help="list file to write")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.source == "ucf101":
        run_ucf101(args)
    else:
        entries = folder_entries(args.root, read_label_names(args.labels))
        print(f"wrote {write_video_list(args.out, entries)} entries to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
