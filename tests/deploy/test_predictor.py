"""Predictor options: what is rejected up front, the bf16 policy, the int8 file, and the oneDNN fallback."""
import logging

import numpy as np
import paddle
import pytest

from paddlevideo.deploy import cpu
from paddlevideo.deploy.predictor import (
    PaddlePredictor,
    PredictorOptions,
    check_precision,
    create_predictor,
    find_int8_model,
    infer_backend,
    resolve_paddle_files,
    short_error,
)
from paddlevideo.errors import ConfigError


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


def fake_cpu(monkeypatch, flags):
    """Make :func:`paddlevideo.deploy.cpu.cpu_flags` report ``flags``."""
    monkeypatch.setattr(cpu, "cpu_flags", lambda path="/proc/cpuinfo": set(flags))


def test_rejects_impossible_precision_and_device_combinations():
    with pytest.raises(ConfigError, match="GPU mode"):
        check_precision(PredictorOptions(precision="fp16"))
    with pytest.raises(ConfigError, match="needs --use_gpu"):
        check_precision(PredictorOptions(use_tensorrt=True))
    with pytest.raises(ConfigError, match="int8 ONNX model"):
        check_precision(PredictorOptions(precision="int8"))
    with pytest.raises(ConfigError, match="precision"):
        PredictorOptions(precision="int4")


@pytest.mark.parametrize("flags, runs, words", [
    ({"avx512_bf16", "amx_tile", "amx_bf16"}, "bf16", "AMX-BF16"),
    ({"avx512f", "avx512_bf16"}, "bf16", "slower on an Intel Xeon"),
    ({"avx2", "avx512f"}, "fp32", "neither AMX-BF16 nor AVX512-BF16"),
])
def test_bf16_follows_the_cpu_flags(monkeypatch, caplog, flags, runs, words):
    fake_cpu(monkeypatch, flags)
    options = PredictorOptions(precision="bf16")
    logger = logging.getLogger("paddlevideo")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING, logger="paddlevideo"):
            note = check_precision(options)
    finally:
        logger.removeHandler(caplog.handler)
    assert options.precision == runs and options.enable_mkldnn  # bf16 or its fp32 stand-in: oneDNN
    assert note.startswith("bf16 requested -> ") and words in note
    assert (words in caplog.text) == (words != "AMX-BF16")  # warned unless AMX


def test_bf16_without_cpu_support_runs_fp32_and_says_so(saved, monkeypatch):
    fake_cpu(monkeypatch, {"avx2"})
    out, layer = saved
    predictor = PaddlePredictor(str(out), None, PredictorOptions(cpu_threads=1, precision="bf16"))
    assert "oneDNN on, fp32" in predictor.describe()
    assert "neither AMX-BF16 nor AVX512-BF16" in predictor.precision_note
    x = np.ones((2, 6), np.float32)
    np.testing.assert_allclose(predictor.run(x), layer(paddle.to_tensor(x)).numpy(), atol=1e-5)


def test_find_int8_model_next_to_any_export_file(tmp_path):
    for name in ("m.json", "m.pdiparams", "m.onnx", "m.int8.onnx"):
        (tmp_path / name).write_bytes(b"")
    int8 = str(tmp_path / "m.int8.onnx")
    for given in ("m.json", "m.onnx", "m.int8.onnx"):
        assert find_int8_model(str(tmp_path / given)) == int8
    assert find_int8_model(str(tmp_path)) == int8
    with pytest.raises(ConfigError, match="--quantize int8"):
        find_int8_model(str(tmp_path / "other.json"))
    (tmp_path / "n.int8.onnx").write_bytes(b"")
    with pytest.raises(ConfigError, match="several int8 models"):
        find_int8_model(str(tmp_path))
    with pytest.raises(ConfigError, match="int8 ONNX model"):
        create_predictor(str(tmp_path / "m.json"), options=PredictorOptions(precision="int8"), backend="paddle")


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
