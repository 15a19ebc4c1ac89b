"""Write PaddleVideo list files (``relative/path.avi label`` per line, labels 0-based).

Two sources:

* ``ucf101``: the official split files (``trainlistNN.txt`` / ``testlistNN.txt`` + ``classInd.txt``,
  shipped in ``data/ucf101/annotations``) -> ``ucf101_{train,val}_split_N_videos.txt``;
* ``folders``: a tree ``ROOT/<class name>/<video>`` (Kinetics-400 style) plus a label list
  (``<idx> <name>`` or one name per line, e.g. ``data/k400/kinetics400_label_list.txt``).

Examples::

    python tools/build_file_list.py ucf101 --split 1 --out data/ucf101
    python tools/build_file_list.py folders --root data/k400/videos/train \
        --labels data/k400/kinetics400_label_list.txt --out data/k400/train.list
"""
import argparse
import os
import sys
from typing import Dict, List, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from paddlevideo.utils.atomic import write_text_atomic  # noqa: E402

VIDEO_EXTS = (".avi", ".mp4", ".mkv", ".webm", ".mov")


def read_label_names(path: str) -> Dict[str, int]:
    """``name -> 0-based index`` from ``<idx> <name>`` lines (1-based in UCF101's classInd) or bare names."""
    with open(path, encoding="utf-8") as f:
        lines = [line.split() for line in f if line.strip()]
    if all(len(parts) == 2 and parts[0].isdigit() for parts in lines):
        base = min(int(parts[0]) for parts in lines)
        return {parts[1]: int(parts[0]) - base for parts in lines}
    return {" ".join(parts): i for i, parts in enumerate(lines)}


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
                raise SystemExit(f"{name} line {lineno}: class '{cls}' is not in classInd.txt")
            entries.append((path, classes[cls]))
    return entries


def folder_entries(root: str, labels: Dict[str, int]) -> List[Tuple[str, int]]:
    """Every video under ``root/<class>/`` whose class is in ``labels``; unknown folders are an error."""
    entries = []
    for cls in sorted(os.listdir(root)):
        if not os.path.isdir(os.path.join(root, cls)):
            continue
        if cls not in labels:
            raise SystemExit(f"folder '{cls}' under {root} is not in the label list")
        entries += [(f"{cls}/{name}", labels[cls]) for name in sorted(os.listdir(os.path.join(root, cls)))
                    if name.lower().endswith(VIDEO_EXTS)]
    return entries


def write_list(entries: List[Tuple[str, int]], path: str) -> None:
    write_text_atomic(path, "".join(f"{p} {label}\n" for p, label in entries))
    print(f"wrote {len(entries)} entries to {path}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Build PaddleVideo list files")
    sub = parser.add_subparsers(dest="source", required=True)
    ucf = sub.add_parser("ucf101", help="from the official UCF101 split files")
    ucf.add_argument("--annotations", default="data/ucf101/annotations")
    ucf.add_argument("--split", type=int, default=1, choices=[1, 2, 3])
    ucf.add_argument("--out", default="data/ucf101")
    folders = sub.add_parser("folders", help="from ROOT/<class>/<video> folders and a label list")
    folders.add_argument("--root", required=True)
    folders.add_argument("--labels", required=True)
    folders.add_argument("--out", required=True, help="list file to write")
    args = parser.parse_args(argv)
    if args.source == "ucf101":
        for test, tag in ((False, "train"), (True, "val")):
            write_list(ucf101_split(args.annotations, args.split, test),
                       os.path.join(args.out, f"ucf101_{tag}_split_{args.split}_videos.txt"))
    else:
        write_list(folder_entries(args.root, read_label_names(args.labels)), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
