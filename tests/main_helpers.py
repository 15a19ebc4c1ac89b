"""``main.py`` arguments that shrink a shipped demo config to a tiny model on generated data.

One place for the override list the end-to-end tests share (TokShift, TimeSformer, raw frames): a
32 px, 4-frame model whose width, depth and batch sizes each test picks.
"""
from typing import Iterable, List


def shrink_args(config: str, out, *, data_prefix: str, train_list: str, val_list: str, epochs: int = 2,
                embed_dim: int = 64, depth: int = 2, num_heads: int = 4, batch_size: int = 4,
                num_workers: int = 1, eval_batch_size: int = 3, log_interval: int = 2,
                test_crop: str = "CenterCrop", sets: Iterable[str] = (), extra: Iterable[str] = ()) -> List[str]:
    """``-c config -o ...`` for a tiny run of ``config``; ``sets`` are more ``-o`` overrides, ``extra``
    more ``-o`` overrides added last (a test's own changes)."""
    overrides = [f"output_dir={out}", f"epochs={epochs}", "MODEL.backbone.img_size=32",
                 f"MODEL.backbone.embed_dim={embed_dim}", f"MODEL.backbone.depth={depth}",
                 f"MODEL.backbone.num_heads={num_heads}", "MODEL.backbone.num_seg=4",
                 f"MODEL.head.in_channels={embed_dim}", "INFERENCE.num_seg=4", "INFERENCE.target_size=32",
                 f"DATASET.batch_size={batch_size}", f"DATASET.num_workers={num_workers}",
                 f"DATASET.valid_batch_size={eval_batch_size}", f"DATASET.test_batch_size={eval_batch_size}",
                 "save_interval=1", f"log_interval={log_interval}", *sets]
    for mode in ("train", "valid", "test"):
        overrides += [f"PIPELINE.{mode}.sample.num_seg=4", f"DATASET.{mode}.data_prefix={data_prefix}",
                      f"DATASET.{mode}.file_path={train_list if mode == 'train' else val_list}"]
    overrides += ["PIPELINE.train.transform.0.JitterScale={'min_size': 32, 'max_size': 36}",
                  "PIPELINE.train.transform.1.RandomCrop.target_size=32",
                  "PIPELINE.valid.transform.0.Scale.short_size=32",
                  "PIPELINE.valid.transform.1.CenterCrop.target_size=32",
                  "PIPELINE.test.transform.0.Scale.short_size=32",
                  f"PIPELINE.test.transform.1={{'{test_crop}': {{'target_size': 32}}}}", *extra]
    args = ["-c", str(config)]
    for item in overrides:
        args += ["-o", item]
    return args
