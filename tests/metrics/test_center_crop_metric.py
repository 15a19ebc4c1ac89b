"""``CenterCropMetric``: top-k and mean class accuracy on hand-built logits, over every sample."""
import numpy as np
import pytest

from paddlevideo.errors import ConfigError
from paddlevideo.metrics import CenterCropMetric, build_metric


def test_topk_and_mean_class_accuracy_on_hand_built_logits():
    metric = CenterCropMetric(topk=[1, 2])
    # rows: predicted order (best first) 0>1>2, 1>2>0, 2>1>0, 2>0>1
    metric.update(np.array([[3.0, 2.0, 1.0], [0.0, 3.0, 2.0]]), np.array([0, 2]))
    metric.update(np.array([[0.0, 1.0, 3.0], [2.0, 0.0, 3.0]]), np.array([[2], [1]]))
    results = metric.accumulate()
    assert metric.count == 4
    assert results["top1"] == pytest.approx(2 / 4)  # rows 0 and 2
    assert results["top2"] == pytest.approx(3 / 4)  # row 1 too; row 3's label ranks last
    # class 0: 1/1, class 1: 0/1, class 2: 1/2
    assert metric.per_class_accuracy() == {0: 1.0, 1: 0.0, 2: 0.5}
    assert results["mean_class_accuracy"] == pytest.approx(0.5)


def test_accuracy_counts_samples_not_batches():
    """A short last batch weighs by its samples (PaddleVideo weighted it as a full batch)."""
    metric = CenterCropMetric(topk=[1])
    metric.update(np.eye(3, dtype=np.float32), np.array([0, 1, 2]))  # 3 right
    metric.update(np.array([[1.0, 0.0, 0.0]]), np.array([1]))  # 1 wrong
    assert metric.accumulate()["top1"] == pytest.approx(3 / 4)


def test_top5_with_fewer_classes_is_top_k_and_reset_empties():
    metric = CenterCropMetric()
    metric.update(np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([0, 0]))
    assert metric.accumulate()["top5"] == 1.0
    metric.reset()
    assert metric.count == 0 and metric.per_class_accuracy() == {}
    assert metric.accumulate() == {"top1": 0.0, "top5": 0.0, "mean_class_accuracy": 0.0}


def test_build_metric_by_name_and_unknown_name_lists_the_registered_ones():
    assert isinstance(build_metric({"name": "CenterCropMetric", "topk": [1]}), CenterCropMetric)
    with pytest.raises(ConfigError, match="CenterCropMetric"):
        build_metric({"name": "Top1Metric"})
