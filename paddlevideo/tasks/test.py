"""``--test``: evaluate a checkpoint on the test list and write results a researcher can use.

Writes ``<output_dir>/test_predictions.csv`` (one row per scored video: path, label, top-5 class ids
and scores, views, and for a video scored from part of its frames the readable and promised frame
counts) and ``<output_dir>/test_results.json`` (top-1, top-5, mean class accuracy, how many videos
were scored, which failed with why and which were scored from part of their frames, weights, config),
and logs the worst classes.
"""
import csv
import io
import json
import os
from typing import Dict, Optional

from ..config.defaults import setting
from ..deploy.classifier import softmax, top_k
from ..deploy.labels import LabelMap, load_labels
from ..loader.builder import build_loader
from ..metrics import build_metric
from ..modeling.builder import build_model
from ..modeling.weights.loading import load_weights
from ..utils.atomic import write_json_atomic, write_text_atomic
from ..utils.checkpoint import load_file
from ..utils.logger import get_logger
from ..utils.runtime import Precision, init_distributed, rank
from .eval_forward import build_eval_forward
from .evaluate import EvalOutputs, evaluate, summarize

TOP_K = 5
WORST_CLASSES = 10


def predictions_csv(outputs: EvalOutputs, dataset) -> str:
    """CSV text: ``path,label,top1_class,top1_score,...,topK_score,views,readable_frames,header_frames`` per
    scored video; the last two are empty unless the video's header promises more frames than were
    readable (the clip then came from the readable ones)."""
    k = min(TOP_K, outputs.logits.shape[1])
    probs = softmax(outputs.logits)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", "label"] + [f"top{j}_{f}" for j in range(1, k + 1) for f in ("class", "score")]
                    + ["views", "readable_frames", "header_frames"])
    for row, index in enumerate(outputs.indices):
        tops = [v for c in top_k(probs[row], k) for v in (int(c), f"{probs[row, c]:.6f}")]
        frames = list(outputs.short.get(int(index), ("", "")))
        writer.writerow([dataset.path(int(index)), int(outputs.labels[row])] + tops + [outputs.views] + frames)
    return buffer.getvalue()


def worst_classes(per_class: Dict[int, float], labels: Optional[LabelMap], count: int = WORST_CLASSES):
    """``(class id, name or None, accuracy)`` of the ``count`` lowest-accuracy classes."""
    order = sorted(per_class.items(), key=lambda item: (item[1], item[0]))[:count]
    return [(c, labels.name(c) if labels else None, acc) for c, acc in order]


def log_results(results: Dict, worst) -> None:
    logger = get_logger()
    logger.info("[TEST] %d of %d videos scored (%d from part of their frames), %d failed: top1 %.4f top5 %.4f "
                "mean class accuracy %.4f", results["scored"], results["videos"], results["short"],
                results["failed"], results["top1"], results["top5"], results["mean_class_accuracy"])
    for item in results["failures"]:
        logger.warning("[TEST] not scored: %s (%s)", item["path"], item["reason"])
    logger.info("[TEST] worst classes: %s", ", ".join(
        f"{c}{f' {name}' if name else ''}: {acc:.3f}" for c, name, acc in worst))


def test_model(cfg: Dict, weights: str, parallel: bool = True, use_amp: bool = False,
               amp_level: Optional[str] = None, *, amp_dtype: str = "float16") -> Dict:
    """Evaluate ``weights`` on ``DATASET.test``; returns the summary also written to test_results.json.

    PaddleVideo's signature; ``parallel`` is implied by how the process was launched. ``amp_dtype``
    (keyword only, as in ``train_model``) is the AMP compute type, ``float16`` or ``bfloat16``.
    """
    init_distributed()
    model = build_model(cfg["MODEL"], init=False)
    load_weights(model, load_file(weights, "-w weights"), source=weights, strict=True)
    loader = build_loader(cfg, "test")
    labels = load_labels(cfg["DATASET"]["label_file"]) if cfg["DATASET"].get("label_file") else None
    precision = Precision(use_amp, amp_level or "O1", amp_dtype)
    outputs = evaluate(model, loader, precision, setting(cfg, "log_interval"), tag="test",
                       forward=build_eval_forward(model, cfg, precision))
    metric = build_metric(cfg["METRIC"])
    results = summarize(outputs, metric, model.head.loss_func)
    results["failures"] = [{"path": loader.dataset.path(i), "reason": r} for i, r in sorted(outputs.failures.items())]
    results["short_videos"] = [{"path": loader.dataset.path(i), "readable_frames": readable, "header_frames": promised}
                               for i, (readable, promised) in sorted(outputs.short.items())]
    results.update(views=outputs.views, weights=weights, config=json.loads(json.dumps(cfg)))
    worst = worst_classes(metric.per_class_accuracy(), labels)
    log_results(results, worst)
    if rank() == 0:
        out = cfg["output_dir"]
        write_text_atomic(os.path.join(out, "test_predictions.csv"), predictions_csv(outputs, loader.dataset))
        write_json_atomic(os.path.join(out, "test_results.json"), results)
        get_logger().info("[TEST] wrote %s and %s", os.path.join(out, "test_predictions.csv"),
                          os.path.join(out, "test_results.json"))
    return results
