"""Generate a tiny synthetic video-classification dataset of time-reversed class pairs.

Why this dataset exists
-----------------------
The classes come in pairs, and the second class of every pair is the first
class played backwards: ``growing``/``shrinking``, ``brightening``/``darkening``,
``moving_right``/``moving_left`` and ``rotating_cw``/``rotating_ccw`` (``--pairs N``
takes the first N).  A clip of the
second class is made by generating a *fresh* first-class clip (with its own
random shape, colours, size, speed and position) and reversing its frame
order, so the two classes of a pair have identical per-frame appearance
statistics.  Consequently a model that ignores frame order (for example a ViT
that averages per-frame logits) cannot tell the two classes of a pair apart
and is bounded at roughly 50% accuracy, while a temporal model such as
TokShift can reach ~100%.  This makes it a quick end-to-end check that the
temporal modelling of a pipeline actually works.

Objects are large (circumradius roughly 6-45% of the frame side), drawn in a
colour far from the background, on a plain background or a very soft linear
gradient; there is no high-frequency noise. The default two pairs change a
quantity each frame's class token sees at once (object area, frame
brightness), which a tiny from-scratch TokShift learns within minutes on two
CPU cores (~95% top-1 in 12 epochs, measured); the position-based pairs
(moving, rotating) took far more epochs to leave chance in the same budget.

Do not use horizontal flips with this data: a flip maps moving-right to
moving-left and clockwise to anticlockwise, i.e. it changes the label.

Output layout under ``--out``::

    videos/<classname>/<split>_<index>.avi   MJPG in AVI, decodable by decord
    train.list, val.list   PaddleVideo format: "<path relative to videos/> <label>"
    classes.txt            "<idx> <name>" per line, like UCF101's classInd.txt
                           but 0-based (label 2k is a pair's forward class,
                           2k + 1 its time reversal)
    manifest.json          written last; marks the dataset as complete

A config therefore uses ``data_prefix: <out>/videos`` and
``file_path: <out>/train.list``.

Usage::

    python data/generate_demo_data.py --out data/demo [--train-per-class 100]
        [--val-per-class 25] [--frames 16] [--size 64] [--pairs 2] [--seed 0]
        [--force]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import decord
import numpy as np

FPS = 8
MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 2
SPLITS = ("train", "val")
_MARGIN = 2.0
_SUBPIXEL_BITS = 4
_MIN_CONTRAST = 240
_MAX_GRADIENT = 24
_MIN_LUMA_CONTRAST = 64
_LUMA_WEIGHTS = np.array([0.114, 0.587, 0.299])  # BT.601 weights in BGR order

_SHAPES: dict[str, np.ndarray] = {
    "square": np.array([(0.707, 0.707), (-0.707, 0.707), (-0.707, -0.707), (0.707, -0.707)]),
    "triangle": np.array([(1.0, 0.0), (-0.5, 0.866), (-0.5, -0.866)]),
    "bar": np.array([(0.93, 0.35), (-0.93, 0.35), (-0.93, -0.35), (0.93, -0.35)]),
    "wedge": np.array([(1.0, 0.0), (-0.7, 0.55), (-0.7, -0.55)]),
    "ell": np.array(
        [(-0.55, -0.8), (-0.15, -0.8), (-0.15, 0.2), (0.7, 0.2), (0.7, 0.55), (-0.55, 0.55)]
    ),
}
"""Unit polygons (circumradius <= 1 around the rotation/scaling centre)."""


@dataclass(frozen=True)
class Trajectory:
    """Per-frame placement of the object.

    Attributes:
        centers: ``(T, 2)`` float array of ``(x, y)`` pixel centres.
        radii: ``(T,)`` float array of circumradii in pixels.
        angles: ``(T,)`` float array of rotation angles in radians; with the
            image y axis pointing down, increasing angles look clockwise.
    """

    centers: np.ndarray
    radii: np.ndarray
    angles: np.ndarray
    gains: np.ndarray | None = None


def _bounds(size: int, radius: float) -> tuple[float, float]:
    """Returns the range of centre coordinates keeping the object off the border."""
    low = radius + _MARGIN
    high = max(size - 1 - radius - _MARGIN, low)
    return low, high


def _translate(rng: np.random.Generator, frames: int, size: int) -> Trajectory:
    """Object moves along a random straight line with positive x velocity."""
    radius = rng.uniform(0.22, 0.30) * size
    low, high = _bounds(size, radius)
    span = rng.uniform(0.85, 1.0) * (high - low)
    x0 = rng.uniform(low, high - span)
    y0 = rng.uniform(low, high)
    y1 = float(np.clip(y0 + rng.uniform(-0.3, 0.3) * span, low, high))
    t = np.linspace(0.0, 1.0, frames)
    centers = np.stack([x0 + span * t, y0 + (y1 - y0) * t], axis=1)
    return Trajectory(centers, np.full(frames, radius), np.full(frames, rng.uniform(0, 2 * np.pi)))


def _grow(rng: np.random.Generator, frames: int, size: int) -> Trajectory:
    """Object stays in place and grows linearly."""
    r0 = rng.uniform(0.06, 0.10) * size
    r1 = rng.uniform(0.38, 0.45) * size
    low, high = _bounds(size, r1)
    center = rng.uniform(low, high, size=2)
    t = np.linspace(0.0, 1.0, frames)
    return Trajectory(
        np.tile(center, (frames, 1)), r0 + (r1 - r0) * t, np.full(frames, rng.uniform(0, 2 * np.pi))
    )


def _brighten(rng: np.random.Generator, frames: int, size: int) -> Trajectory:
    """Static object; the whole frame brightens linearly from 30% to full intensity."""
    radius = rng.uniform(0.22, 0.32) * size
    low, high = _bounds(size, radius)
    center = rng.uniform(low, high, size=2)
    return Trajectory(np.tile(center, (frames, 1)), np.full(frames, radius),
                      np.full(frames, rng.uniform(0, 2 * np.pi)), np.linspace(0.3, 1.0, frames))


def _rotate_cw(rng: np.random.Generator, frames: int, size: int) -> Trajectory:
    """Asymmetric object rotates clockwise (on screen) about a fixed centre."""
    radius = rng.uniform(0.20, 0.30) * size
    low, high = _bounds(size, radius)
    center = rng.uniform(low, high, size=2)
    omega = np.deg2rad(rng.uniform(10.0, 20.0))
    angles = rng.uniform(0, 2 * np.pi) + omega * np.arange(frames)
    return Trajectory(np.tile(center, (frames, 1)), np.full(frames, radius), angles)


@dataclass(frozen=True)
class PairKind:
    """A pair of classes: ``forward`` clips and their time reversal ``backward``.

    Attributes:
        forward: Name of the generated class (label ``2k``).
        backward: Name of the time-reversed class (label ``2k + 1``).
        shapes: Shapes a clip may use.
        trajectory: Samples the forward motion ``(rng, frames, size)``.
    """

    forward: str
    backward: str
    shapes: tuple[str, ...]
    trajectory: Callable[[np.random.Generator, int, int], Trajectory]


PAIR_KINDS: tuple[PairKind, ...] = (
    PairKind("growing", "shrinking", ("circle", "square", "triangle"), _grow),
    PairKind("brightening", "darkening", ("circle", "square", "triangle"), _brighten),
    PairKind("moving_right", "moving_left", ("circle", "square", "triangle"), _translate),
    PairKind("rotating_cw", "rotating_ccw", ("bar", "wedge", "ell"), _rotate_cw),
)
"""All pair kinds; ``--pairs N`` uses the first N."""


def class_names(pairs: int) -> list[str]:
    """Returns the class names of the first ``pairs`` pair kinds, in label order."""
    return [name for kind in PAIR_KINDS[:pairs] for name in (kind.forward, kind.backward)]


def _sample_colours(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Samples background colour, gradient delta and a high-contrast object colour.

    The object colour is at least ``_MIN_CONTRAST`` (L1 over BGR) away from the
    background base colour and each gradient channel varies by at most
    ``_MAX_GRADIENT``, so the object stands out everywhere in the frame.  A
    luma difference of at least ``_MIN_LUMA_CONTRAST`` keeps the object edges
    sharp after MJPG's chroma subsampling.
    """
    while True:
        base = rng.integers(0, 256, size=3)
        colour = rng.integers(0, 256, size=3)
        luma = abs(float((base - colour) @ _LUMA_WEIGHTS))
        if np.abs(base - colour).sum() >= _MIN_CONTRAST and luma >= _MIN_LUMA_CONTRAST:
            break
    if rng.random() < 0.5:
        delta = np.zeros(3)
    else:
        delta = rng.uniform(-_MAX_GRADIENT, _MAX_GRADIENT, size=3)
    return base.astype(np.float64), delta, colour.astype(np.float64)


def _background(size: int, base: np.ndarray, delta: np.ndarray, angle: float) -> np.ndarray:
    """Returns a plain or soft linear-gradient ``(size, size, 3)`` uint8 image."""
    coords = np.arange(size) / max(size - 1, 1)
    ramp = np.cos(angle) * coords[None, :] + np.sin(angle) * coords[:, None]
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-9)
    image = base[None, None, :] + ramp[:, :, None] * delta[None, None, :]
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _draw(
    image: np.ndarray, shape: str, colour: np.ndarray, center: np.ndarray, radius: float, angle: float
) -> None:
    """Draws one anti-aliased filled shape in place with sub-pixel precision."""
    scale = 1 << _SUBPIXEL_BITS
    bgr = tuple(float(c) for c in colour)
    if shape == "circle":
        cx, cy = (int(round(v * scale)) for v in center)
        cv2.circle(image, (cx, cy), int(round(radius * scale)), bgr, -1, cv2.LINE_AA, _SUBPIXEL_BITS)
        return
    cos, sin = np.cos(angle), np.sin(angle)
    rotation = np.array([[cos, -sin], [sin, cos]])
    points = center[None, :] + radius * _SHAPES[shape] @ rotation.T
    fixed = np.round(points * scale).astype(np.int32)
    cv2.fillPoly(image, [fixed], bgr, cv2.LINE_AA, _SUBPIXEL_BITS)


def render_forward_clip(kind: PairKind, rng: np.random.Generator, frames: int, size: int) -> np.ndarray:
    """Renders one forward-class clip of ``kind`` with fresh random parameters.

    Args:
        kind: The pair kind whose forward class is rendered.
        rng: Source of all randomness for this clip.
        frames: Number of frames.
        size: Frame height and width in pixels.

    Returns:
        ``(frames, size, size, 3)`` uint8 array in BGR order.
    """
    shape = kind.shapes[int(rng.integers(len(kind.shapes)))]
    base, delta, colour = _sample_colours(rng)
    background = _background(size, base, delta, rng.uniform(0, 2 * np.pi))
    path = kind.trajectory(rng, frames, size)
    clip = np.repeat(background[None], frames, axis=0)
    for i in range(frames):
        _draw(clip[i], shape, colour, path.centers[i], float(path.radii[i]), float(path.angles[i]))
    if path.gains is not None:
        clip = np.rint(clip * path.gains[:, None, None, None]).astype(np.uint8)
    return clip


def render_clip(label: int, rng: np.random.Generator, frames: int, size: int) -> np.ndarray:
    """Renders a clip of class ``label`` (odd labels are reversed forward clips).

    Args:
        label: Class index, ``2k`` or ``2k + 1`` for pair kind ``k``.
        rng: Source of all randomness for this clip.
        frames: Number of frames.
        size: Frame height and width in pixels.

    Returns:
        ``(frames, size, size, 3)`` uint8 array in BGR order.
    """
    clip = render_forward_clip(PAIR_KINDS[label // 2], rng, frames, size)
    return np.ascontiguousarray(clip[::-1]) if label % 2 else clip


def clip_rng(seed: int, split: str, label: int, index: int) -> np.random.Generator:
    """Returns the independent random generator of one clip."""
    return np.random.default_rng(np.random.SeedSequence([seed, SPLITS.index(split), label, index]))


def write_video(path: Path, clip: np.ndarray, fps: int = FPS) -> None:
    """Writes ``clip`` as an MJPG AVI atomically and checks it decodes with decord.

    Args:
        path: Destination ``.avi`` path.
        clip: ``(T, H, W, 3)`` uint8 BGR frames.
        fps: Frame rate stored in the container.

    Raises:
        RuntimeError: If the writer cannot be opened or decoding disagrees.
    """
    frames, height, width = clip.shape[:3]
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"cv2.VideoWriter could not open {tmp}")
    for frame in clip:
        writer.write(frame)
    writer.release()
    reader = decord.VideoReader(str(tmp))
    decoded = (len(reader), *reader[0].shape)
    del reader
    if decoded != (frames, height, width, 3):
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"{path}: decoded shape {decoded} != {(frames, height, width, 3)}")
    os.replace(tmp, path)


def _write_text(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` atomically (temporary file + ``os.replace``)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _is_complete(out: Path, params: dict) -> bool:
    """Returns whether ``out`` holds a complete dataset generated with ``params``.

    Raises:
        FileExistsError: If a complete dataset with different parameters exists.
    """
    manifest = out / MANIFEST_NAME
    if not manifest.is_file():
        return False
    stored = json.loads(manifest.read_text(encoding="utf-8"))
    if stored.get("params") != params:
        raise FileExistsError(
            f"{out} holds a dataset generated with {stored.get('params')}; use force=True / --force"
        )
    for split in SPLITS:
        list_file = out / f"{split}.list"
        if not list_file.is_file():
            return False
        for line in list_file.read_text(encoding="utf-8").splitlines():
            if not (out / "videos" / line.rsplit(" ", 1)[0]).is_file():
                return False
    return True


def _write_split(
    out: Path, split: str, per_class: int, params: dict, progress: Callable[[str], None] | None
) -> list[str]:
    """Renders and writes all clips of one split; returns its list-file lines."""
    lines = []
    for label, name in enumerate(class_names(params["pairs"])):
        for index in range(per_class):
            rng = clip_rng(params["seed"], split, label, index)
            clip = render_clip(label, rng, params["frames"], params["size"])
            relative = f"{name}/{split}_{index:04d}.avi"
            write_video(out / "videos" / relative, clip)
            lines.append(f"{relative} {label}")
        if progress:
            progress(f"  {split}: {name} ({per_class} clips)")
    return lines


def _result(out: Path, names: list[str], counts: dict[str, int], skipped: bool) -> dict:
    """Builds the dictionary returned by :func:`generate`."""
    return {
        "out_dir": out,
        "videos_dir": out / "videos",
        "train_list": out / "train.list",
        "val_list": out / "val.list",
        "classes_file": out / "classes.txt",
        "manifest": out / MANIFEST_NAME,
        "classes": names,
        "num_train": counts["train"],
        "num_val": counts["val"],
        "skipped": skipped,
    }


def _validate(params: dict) -> None:
    """Raises ``ValueError`` for out-of-range generation parameters."""
    if not 1 <= params["pairs"] <= len(PAIR_KINDS):
        raise ValueError(f"pairs must be in [1, {len(PAIR_KINDS)}], got {params['pairs']}")
    if params["frames"] < 2 or params["size"] < 24:
        raise ValueError("frames must be >= 2 and size >= 24")
    if params["train_per_class"] < 1 or params["val_per_class"] < 1 or params["seed"] < 0:
        raise ValueError("per-class counts must be >= 1 and seed >= 0")


def generate(
    out_dir: str | os.PathLike,
    train_per_class: int = 100,
    val_per_class: int = 25,
    frames: int = 16,
    size: int = 64,
    pairs: int = 2,
    seed: int = 0,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Generates the dataset under ``out_dir`` unless it is already complete.

    Regeneration first removes the manifest and the ``videos/<classname>``
    folders of all known classes, so an interrupted run is never mistaken for
    a complete one.

    Args:
        out_dir: Output root (``videos/``, list files, ``classes.txt``, manifest).
        train_per_class: Training clips per class.
        val_per_class: Validation clips per class.
        frames: Frames per clip.
        size: Frame height and width in pixels (>= 24).
        pairs: Number of time-reversed class pairs (1-3).
        seed: Non-negative seed; equal seeds give identical data.
        force: Regenerate even if a complete dataset exists.
        progress: Optional callback receiving progress messages.

    Returns:
        Dict with the output paths, ``classes``, ``num_train``, ``num_val``
        and ``skipped`` (True if an existing complete dataset was kept).

    Raises:
        FileExistsError: A complete dataset with other parameters exists and
            ``force`` is False.
    """
    out = Path(out_dir)
    params = {"train_per_class": train_per_class, "val_per_class": val_per_class,
              "frames": frames, "size": size, "pairs": pairs, "seed": seed}
    _validate(params)
    names = class_names(pairs)
    counts = {"train": train_per_class * len(names), "val": val_per_class * len(names)}
    if not force and _is_complete(out, params):
        return _result(out, names, counts, skipped=True)
    _clear(out)
    for name in names:
        (out / "videos" / name).mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        lines = _write_split(out, split, params[f"{split}_per_class"], params, progress)
        _write_text(out / f"{split}.list", "\n".join(lines) + "\n")
    _write_text(out / "classes.txt", "".join(f"{i} {n}\n" for i, n in enumerate(names)))
    manifest = {"format_version": FORMAT_VERSION, "params": params, "classes": names,
                "counts": counts, "fps": FPS, "codec": "MJPG"}
    _write_text(out / MANIFEST_NAME, json.dumps(manifest, indent=2) + "\n")
    return _result(out, names, counts, skipped=False)


def _clear(out: Path) -> None:
    """Removes the manifest and all known class folders of a previous run."""
    (out / MANIFEST_NAME).unlink(missing_ok=True)
    for name in class_names(len(PAIR_KINDS)):
        shutil.rmtree(out / "videos" / name, ignore_errors=True)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parses command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", required=True, help="output directory, e.g. data/demo")
    parser.add_argument("--train-per-class", type=int, default=100)
    parser.add_argument("--val-per-class", type=int, default=25)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--pairs", type=int, default=2, choices=range(1, len(PAIR_KINDS) + 1))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="regenerate even if complete")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    args = _parse_args(argv)
    start = time.perf_counter()
    print(f"Demo dataset in {args.out}:", flush=True)
    try:
        result = generate(
            args.out, args.train_per_class, args.val_per_class, args.frames, args.size,
            args.pairs, args.seed, args.force, progress=lambda msg: print(msg, flush=True),
        )
    except (FileExistsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    state = "already complete, skipped (use --force to regenerate)" if result["skipped"] else "done"
    print(
        f"{state}: {result['num_train']} train / {result['num_val']} val clips, "
        f"{len(result['classes'])} classes {result['classes']} "
        f"in {time.perf_counter() - start:.1f}s"
    )
    print(f"data_prefix: {result['videos_dir']}  lists: {result['train_list']}, {result['val_list']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
