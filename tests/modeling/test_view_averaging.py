"""How RecognizerTransformer combines the views of a video (``avg_type``), on hand-built logits,
and that both choices build from the config and export."""
import math
import os

import numpy as np
import paddle
import pytest
from paddle import nn

from paddlevideo.config import check_config, get_config
from paddlevideo.errors import ConfigError
from paddlevideo.modeling.builder import build_model
from paddlevideo.modeling.framework.recognizers.recognizer_transformer import RecognizerTransformer

NUM_SEG, K = 2, 3
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO_CONFIG = os.path.join(ROOT, "configs", "recognition", "tokshift", "demo_tokshift_tiny.yaml")


class LogitsBackbone(nn.Layer):
    """Reads the logits planted in the clip: ``[N, 1, T, 1, K]`` -> ``[N, K]`` (frame 0)."""

    num_seg = NUM_SEG

    def forward(self, x):
        return x[:, 0, 0, 0, :]


class IdentityHead(nn.Layer):
    def forward(self, x):
        return x

    def loss(self, logits, labels):
        return {"loss": nn.functional.cross_entropy(logits, labels)}


def planted(view_logits: np.ndarray) -> paddle.Tensor:
    """``[B, V, K]`` logits -> clips ``[B, 1, V*T, 1, K]``; view ``v`` yields ``logits[:, v]``."""
    b, v, k = view_logits.shape
    clips = np.repeat(view_logits[:, :, None, :], NUM_SEG, axis=2)  # [B, V, T, K]
    return paddle.to_tensor(clips.reshape(b, 1, v * NUM_SEG, 1, k).astype(np.float32))


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# two videos, three views; video 0: the views disagree in scale so score and prob differ
VIEW_LOGITS = np.array([[[10.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]],
                        [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]])


def recognizer(avg_type: str) -> RecognizerTransformer:
    return RecognizerTransformer(LogitsBackbone(), IdentityHead(), avg_type=avg_type)


def test_score_averages_logits():
    out = recognizer("score")([planted(VIEW_LOGITS)], mode="test").numpy()
    assert out.shape == (2, K)
    np.testing.assert_allclose(out, [[10 / 3, 2 / 3, 0.0], [5 / 3, 2.0, 7 / 3]], rtol=1e-6)


def test_prob_output_is_log_of_mean_softmax():
    out = recognizer("prob")([planted(VIEW_LOGITS)], mode="infer").numpy()
    assert out.shape == (2, K)
    mean_probs = softmax(VIEW_LOGITS).mean(axis=1)
    np.testing.assert_allclose(np.exp(out), mean_probs, rtol=1e-5)
    np.testing.assert_allclose(softmax(out), mean_probs, rtol=1e-5)  # what reports apply


def test_score_and_prob_can_rank_differently():
    # one confident view for class 0 against two fairly sure views for class 1
    logits = np.array([[[10.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 3.0, 0.0]]])
    score = recognizer("score")([planted(logits)], mode="test").numpy()
    prob = recognizer("prob")([planted(logits)], mode="test").numpy()
    np.testing.assert_allclose(score[0], [10 / 3, 2.0, 0.0], rtol=1e-6)
    assert score[0].argmax() == 0  # logits: 3.33 vs 2.0
    assert prob[0].argmax() == 1  # probabilities: 0.36 vs 0.61


def test_prob_does_not_underflow_to_log_zero():
    logits = np.array([[[200.0, -200.0], [200.0, -200.0]]])
    out = recognizer("prob")([planted(logits)], mode="test").numpy()
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[0], [0.0, -400.0], atol=1e-3)


def test_one_view_prob_is_log_softmax():
    logits = VIEW_LOGITS[:, :1]
    out = recognizer("prob")([planted(logits)], mode="test").numpy()
    np.testing.assert_allclose(out, np.log(softmax(logits[:, 0])), rtol=1e-5, atol=1e-6)


def test_valid_loss_is_nll_of_the_averaged_prediction():
    labels = paddle.to_tensor(np.array([1, 2], dtype=np.int64))
    loss = recognizer("prob")([planted(VIEW_LOGITS), labels], mode="valid")["loss"].numpy()
    mean_probs = softmax(VIEW_LOGITS).mean(axis=1)
    expected = -np.mean(np.log(mean_probs[[0, 1], [1, 2]]))
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_unknown_avg_type_rejected():
    with pytest.raises(ValueError, match="avg_type must be one of"):
        recognizer("max")


def test_avg_type_is_a_model_key(tiny_model_cfg):
    assert build_model(tiny_model_cfg).avg_type == "score"
    cfg = get_config(DEMO_CONFIG, ["MODEL.avg_type=prob"])
    check_config(cfg)
    assert build_model(cfg["MODEL"], init=False).avg_type == "prob"
    cfg["MODEL"]["avg_type"] = "mean"
    with pytest.raises(ConfigError, match="avg_type must be one of"):
        build_model(cfg["MODEL"], init=False)
    cfg["MODEL"]["avg_typ"] = cfg["MODEL"].pop("avg_type")
    for check in (build_model, lambda model_cfg: check_config(cfg)):
        with pytest.raises(ConfigError, match=r"unknown key 'avg_typ'.*avg_type"):
            check(cfg["MODEL"])


@pytest.mark.parametrize("avg_type", ["score", "prob"])
def test_multi_view_export_matches_eager(tiny_model_cfg, tmp_path, avg_type):
    from paddlevideo.deploy.export import save_inference_model

    tiny_model_cfg["avg_type"] = avg_type
    paddle.seed(0)
    model = build_model(tiny_model_cfg)
    model.eval()
    views = 3
    shape = [None, 3, 4 * views, 32, 32]
    save_inference_model(model, shape, str(tmp_path))
    loaded = paddle.jit.load(str(tmp_path / "inference"))
    imgs = np.random.RandomState(0).uniform(-1, 1, [2] + shape[1:]).astype(np.float32)
    imgs = paddle.to_tensor(imgs)
    with paddle.no_grad():
        expected = model([imgs], mode="infer").numpy()
        out = loaded(imgs).numpy()
    assert out.shape == (2, 5)
    np.testing.assert_allclose(out, expected, atol=1e-4)
    if avg_type == "prob":
        assert math.isclose(float(np.exp(out).sum(axis=1)[0]), 1.0, rel_tol=1e-4)
