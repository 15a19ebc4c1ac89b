"""Predictor options: what is rejected up front, and the oneDNN fallback."""
import logging

import numpy as np
import paddle
import pytest

from paddlevideo.deploy import predictor as pred
from paddlevideo.deploy.predictor import (
    PaddlePredictor,
    PredictorOptions,
    check_precision,
    infer_backend,
    resolve_paddle_files,
    short_error,
)
from paddlevideo.registry import ConfigError


class Linear(paddle.nn.Layer):
    def __init__(self):
        super().__init__()
        self.fc = paddle.nn.Linear(6, 3)

    def forward(self, imgs):
        return self.fc(imgs.reshape([-1, 6]))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny Linear exported with jit.save: ``[None, 6] -> [None, 3]``, and its eager outputs."""
    paddle.seed(0)
    layer = Linear()
    layer.eval()
    out = tmp_path_factory.mktemp("linear")
    static = paddle.jit.to_static(layer, input_spec=[paddle.static.InputSpec([None, 6], "float32", "imgs")],
                                  full_graph=True)
    paddle.jit.save(static, str(out / "inference"))
    return out, layer


def test_rejects_impossible_precision_and_device_combinations(monkeypatch):
    with pytest.raises(ConfigError, match="GPU mode"):
        check_precision(PredictorOptions(precision="fp16"))
    with pytest.raises(ConfigError, match="needs --use_gpu"):
        check_precision(PredictorOptions(use_tensorrt=True))
    monkeypatch.setattr(pred, "bf16_instruction_set", lambda: None)
    with pytest.raises(ConfigError, match="AVX512-BF16 or AMX"):
        check_precision(PredictorOptions(precision="bf16"))
    monkeypatch.setattr(pred, "bf16_instruction_set", lambda: "avx512_bf16")
    options = PredictorOptions(precision="bf16")
    check_precision(options)
    assert options.enable_mkldnn  # bf16 runs through oneDNN
    with pytest.raises(ConfigError, match="precision"):
        PredictorOptions(precision="int4")


def test_backend_follows_the_model_file():
    assert infer_backend("out/model.onnx") == "onnxruntime"
    assert infer_backend("out/inference.json") == "paddle"
    with pytest.raises(ConfigError, match="does not match"):
        infer_backend("out/inference.json", "onnxruntime")


def test_resolve_files_accepts_directory_json_and_pdmodel(saved, tmp_path):
    out, _ = saved
    assert resolve_paddle_files(str(out)) == (str(out / "inference.json"), str(out / "inference.pdiparams"))
    legacy = tmp_path / "inference.pdmodel"
    legacy.write_bytes(b"")
    (tmp_path / "inference.pdiparams").write_bytes(b"")
    assert resolve_paddle_files(str(tmp_path))[0] == str(legacy)
    with pytest.raises(ConfigError, match="params_file not found"):
        resolve_paddle_files(str(out / "inference.json"), str(tmp_path / "x.pdiparams"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="no exported model"):
        resolve_paddle_files(str(empty))
    (tmp_path / "other.json").write_text("{}")
    (tmp_path / "other.pdiparams").write_bytes(b"")
    with pytest.raises(ConfigError, match="several models"):
        resolve_paddle_files(str(tmp_path))


@pytest.mark.parametrize("mkldnn", [False, True])
def test_paddle_predictor_matches_eager(saved, mkldnn):
    out, layer = saved
    predictor = PaddlePredictor(str(out / "inference.json"), None,
                                PredictorOptions(cpu_threads=1, enable_mkldnn=mkldnn))
    x = np.random.RandomState(0).randn(5, 6).astype(np.float32)
    np.testing.assert_allclose(predictor.run(x), layer(paddle.to_tensor(x)).numpy(), atol=1e-5)
    assert f"oneDNN {'on' if mkldnn else 'off'}" in predictor.describe()


def test_onednn_failure_falls_back_to_plain_cpu(saved, monkeypatch, caplog):
    from paddle import inference

    real = inference.create_predictor

    def failing_with_onednn(config):
        if config.mkldnn_enabled():
            raise RuntimeError("C++ Traceback\n(InvalidArgument) oneDNN attribute conversion failed")
        return real(config)

    monkeypatch.setattr(inference, "create_predictor", failing_with_onednn)
    out, layer = saved
    logger = logging.getLogger("paddlevideo")  # may not propagate to root (setup_logger)
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING, logger="paddlevideo"):
            predictor = PaddlePredictor(str(out), None, PredictorOptions(cpu_threads=1, enable_mkldnn=True))
    finally:
        logger.removeHandler(caplog.handler)
    assert "falling back to plain CPU" in caplog.text and "(InvalidArgument)" in caplog.text
    assert "oneDNN off" in predictor.describe()
    x = np.ones((2, 6), np.float32)
    np.testing.assert_allclose(predictor.run(x), layer(paddle.to_tensor(x)).numpy(), atol=1e-5)


def test_short_error_picks_the_paddle_summary_line():
    err = RuntimeError("C++ Traceback (most recent call last):\n0 foo\n\n(NotFound) no kernel\n  [Hint: x]")
    assert short_error(err) == "RuntimeError: (NotFound) no kernel"
    assert short_error(ValueError("plain")) == "ValueError: plain"


LEGACY_EXPORT = """
import sys
import numpy as np
import paddle
layer = paddle.nn.Linear(6, 3)
layer.eval()
spec = [paddle.static.InputSpec([None, 6], "float32", "imgs")]
paddle.jit.save(paddle.jit.to_static(layer, input_spec=spec, full_graph=True), sys.argv[1] + "/inference")
np.save(sys.argv[1] + "/ref.npy", layer(paddle.ones([2, 6])).numpy())
"""


def test_legacy_pdmodel_export_is_accepted(tmp_path):
    """Models exported before PIR (``inference.pdmodel``) still load."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, FLAGS_enable_pir_api="0")
    subprocess.run([sys.executable, "-c", LEGACY_EXPORT, str(tmp_path)], env=env, check=True,
                   capture_output=True, timeout=60)
    assert (tmp_path / "inference.pdmodel").is_file()
    predictor = PaddlePredictor(str(tmp_path), None, PredictorOptions(cpu_threads=1))
    assert "inference.pdmodel" in predictor.describe()
    np.testing.assert_allclose(predictor.run(np.ones((2, 6), np.float32)), np.load(tmp_path / "ref.npy"),
                               atol=1e-6)
