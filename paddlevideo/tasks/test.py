"""``--test``: evaluate a checkpoint on the test list and write the results."""
import os
from typing import Dict

from ..loader.builder import build_loader
from ..metrics import build_metric
from ..modeling.builder import build_model
from ..utils.atomic import write_json_atomic
from ..utils.checkpoint import load_file, load_weights
from ..utils.logger import get_logger
from ..utils.runtime import Precision, init_distributed, rank
from .evaluate import evaluate


def test_model(cfg: Dict, weights: str, amp: bool = False, amp_level: str = "O1") -> Dict:
    """Top-1 / top-5 of ``weights`` on ``DATASET.test``; results also go to ``<output_dir>/test_results.json``."""
    logger = get_logger()
    parallel = init_distributed()
    model = build_model(cfg["MODEL"], init=False)
    load_weights(model, load_file(weights, "-w weights"), source=weights, strict=True)
    loader = build_loader(cfg, "test", parallel)
    precision = Precision(amp, amp_level)
    results = evaluate(model, loader, build_metric(cfg["METRIC"]), precision,
                       cfg.get("log_interval", 10), tag="test")
    results["weights"] = weights
    logger.info("[TEST] finished: top1 %.4f top5 %.4f over %d clips", results["top1"], results["top5"],
                results["samples"])
    if rank() == 0:
        write_json_atomic(os.path.join(cfg["output_dir"], "test_results.json"), results)
    return results
test_model.__test__ = False  # a task, not a pytest test
