"""``--test``: evaluate a checkpoint on the test list and write the results."""
import json
import os
from typing import Dict

from ..loader.builder import build_dataloader, build_dataset, loader_settings
from ..metrics import build_metric
from ..modeling.builder import build_model
from ..utils.checkpoint import load_file, load_weights
from ..utils.logger import get_logger
from ..utils.runtime import Precision, init_distributed, rank
from .evaluate import evaluate


def write_json_atomic(obj: Dict, path: str) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


def test_model(cfg: Dict, weights: str, amp: bool = False, amp_level: str = "O1") -> Dict:
    """Top-1 / top-5 of ``weights`` on ``DATASET.test``; results also go to ``<output_dir>/test_results.json``."""
    logger = get_logger()
    parallel = init_distributed()
    model = build_model(cfg["MODEL"], init=False)
    load_weights(model, load_file(weights, "-w weights"), source=weights, strict=True)
    dataset = build_dataset(cfg, "test")
    batch_size, workers = loader_settings(cfg["DATASET"], "test")
    loader = build_dataloader(dataset, batch_size, workers, shuffle=False, drop_last=False,
                              distributed=parallel)
    precision = Precision(amp, amp_level)
    results = evaluate(model, loader, build_metric(cfg["METRIC"]), precision,
                       cfg.get("log_interval", 10), tag="test")
    results["weights"] = weights
    logger.info("[TEST] finished: top1 %.4f top5 %.4f over %d clips", results["top1"], results["top5"],
                results["samples"])
    if rank() == 0:
        os.makedirs(cfg["output_dir"], exist_ok=True)
        write_json_atomic(results, os.path.join(cfg["output_dir"], "test_results.json"))
    return results
test_model.__test__ = False  # a task, not a pytest test
