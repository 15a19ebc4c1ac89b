"""Post-processing: softmax, top-k and the PaddleVideo console format."""
import numpy as np

from paddlevideo.deploy.classifier import Failure, Prediction, softmax, top_k


def test_softmax_is_stable_and_normalised():
    probs = softmax(np.array([[1000.0, 1000.0, -1000.0], [0.0, np.log(3.0), 0.0]], dtype=np.float32))
    np.testing.assert_allclose(probs, [[0.5, 0.5, 0.0], [0.2, 0.6, 0.2]], atol=1e-6)
    assert probs.dtype == np.float32


def test_top_k_orders_best_first_and_caps_k():
    assert top_k(np.array([0.1, 0.5, 0.2, 0.2]), 3).tolist() == [1, 2, 3]
    assert top_k(np.array([0.3, 0.7]), 5).tolist() == [1, 0]


def test_console_lines_follow_paddlevideo():
    pred = Prediction("v.avi", [2, 0], [0.75, 0.25], ["jump", None], np.zeros(3))
    assert pred.lines() == ["Current video file: v.avi", "\ttop-2 class: [2 0]", "\ttop-2 score: [0.750000 0.250000]",
                            "\ttop-2 label: [jump, None]"]
    assert pred.to_dict()["top_k"][0] == {"class": 2, "score": 0.75, "label": "jump"}
    assert Failure("b.avi", "boom").lines() == ["Current video file: b.avi", "\terror: boom"]
