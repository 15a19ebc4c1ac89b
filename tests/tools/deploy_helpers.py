"""Helpers for the deployment tests: the tiny config, generated .avi videos, running a tool."""
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]

DEMO_CONFIG = ROOT / "configs" / "recognition" / "tokshift" / "demo_tokshift_tiny.yaml"
NUM_SEG, SIZE, EMBED = 4, 32, 64


def tiny_overrides(views: int = 1) -> List[str]:
    """``-o`` overrides turning the demo config into the tiny test model (``views`` test clips)."""
    items = [f"MODEL.backbone.img_size={SIZE}", f"MODEL.backbone.embed_dim={EMBED}",
             "MODEL.backbone.depth=2", "MODEL.backbone.num_heads=2", f"MODEL.backbone.num_seg={NUM_SEG}",
             f"MODEL.head.in_channels={EMBED}", f"INFERENCE.num_seg={NUM_SEG}",
             f"INFERENCE.target_size={SIZE}", f"INFERENCE.views={views}",
             f"PIPELINE.train.transform.0.JitterScale.min_size={SIZE}",
             f"PIPELINE.train.transform.0.JitterScale.max_size={SIZE + 4}",
             f"PIPELINE.train.transform.1.RandomCrop.target_size={SIZE}",
             "PIPELINE.test.sample=" + repr({"name": "Sampler", "num_seg": NUM_SEG, "valid_mode": True,
                                             "num_clips": views})]
    for mode in ("train", "valid"):
        items.append(f"PIPELINE.{mode}.sample.num_seg={NUM_SEG}")
    for mode in ("valid", "test"):
        items += [f"PIPELINE.{mode}.transform.0.Scale.short_size={SIZE}",
                  f"PIPELINE.{mode}.transform.1.CenterCrop.target_size={SIZE}"]
    return items


def write_tiny_config(path: Path, views: int = 1) -> Path:
    from paddlevideo.config import format_config, get_config

    cfg = get_config(str(DEMO_CONFIG), tiny_overrides(views))
    path.write_text(format_config(cfg) + "\n", encoding="utf-8")
    return path


def write_video(path: Path, num_frames: int = 12, width: int = 56, height: int = 40, seed: int = 0) -> Path:
    """An MJPG .avi of smooth random colour blobs (different per seed, so predictions differ).

    (decord 0.6 cannot decode some sizes written this way, e.g. 48x40; 56x40 and 40x56 work.)
    """
    rng = np.random.RandomState(seed)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (width, height))
    assert writer.isOpened(), f"cv2 cannot write {path}"
    base = cv2.resize(rng.randint(0, 256, (4, 5, 3)).astype(np.uint8), (width, height))
    for i in range(num_frames):
        writer.write(np.roll(base, shift=3 * i, axis=1))
    writer.release()
    return path


def reference_scores(cfg, model, files, tmp_path: Path) -> dict:
    """Softmax scores per file through ``build_dataset(cfg, 'test')`` + ``model(mode='test')``
    (what ``main.py --test`` computes): the reference for every exported path."""
    import copy

    import paddle

    from paddlevideo.deploy.classifier import softmax
    from paddlevideo.loader.builder import build_dataset

    list_file = tmp_path / "ref.list"
    list_file.write_text("".join(f"{os.path.abspath(f)} 0\n" for f in files), encoding="utf-8")
    cfg = copy.deepcopy(cfg)
    cfg["DATASET"]["test"].update(file_path=str(list_file), data_prefix="")
    dataset = build_dataset(cfg, "test")
    scores = {}
    with paddle.no_grad():
        for i in range(len(dataset)):
            imgs = paddle.to_tensor(dataset[i].imgs[None])
            scores[dataset.path(i)] = softmax(model([imgs], mode="test").numpy())[0]
    return scores


def run_tool(script: str, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run ``python tools/<script> args`` from the repo root, as a user would."""
    env = dict(os.environ, OMP_NUM_THREADS="2", PYTHONWARNINGS="ignore", GLOG_minloglevel="2")
    return subprocess.run([sys.executable, str(ROOT / "tools" / script), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
