"""``--use_tensorrt`` on Paddle Inference: refused for a PIR ``.json`` program (Paddle 3 would run it
without TensorRT), configured for a legacy ``.pdmodel``. No GPU here: the GPU build is mocked where a
test needs one, and no predictor is ever created."""
from types import SimpleNamespace

import paddle
import pytest
from paddle import inference

from paddlevideo.deploy.predictor import PaddlePredictor, PredictorOptions, check_tensorrt, create_predictor
from paddlevideo.errors import ConfigError

GPU_TRT = {"use_gpu": True, "use_tensorrt": True}


def exported_files(directory, suffix: str) -> str:
    """Empty ``model<suffix>`` + ``model.pdiparams``: enough for every check before the engine loads."""
    model = directory / f"model{suffix}"
    model.write_text("")
    (directory / "model.pdiparams").write_text("")
    return str(model)


@pytest.fixture
def no_engine(monkeypatch):
    """Creating a predictor fails the test: the checks must come first."""
    def create(self):
        raise AssertionError("a predictor was created")

    monkeypatch.setattr(PaddlePredictor, "_create", create)


@pytest.mark.parametrize("options", [GPU_TRT, {"use_tensorrt": True}])
def test_a_pir_json_model_is_refused_with_what_to_do(tmp_path, no_engine, options):
    model = exported_files(tmp_path, ".json")
    with pytest.raises(ConfigError) as error:
        create_predictor(model, options=PredictorOptions(**options))
    message = str(error.value)
    assert model in message and "PIR program" in message and "without TensorRT" in message
    assert "paddle.tensorrt.convert" in message and "--use_gpu and without --use_tensorrt" in message


def test_a_directory_holding_a_json_model_is_refused_too(tmp_path, no_engine):
    exported_files(tmp_path, ".json")
    with pytest.raises(ConfigError, match="PIR program"):
        PaddlePredictor(str(tmp_path), None, PredictorOptions(**GPU_TRT))


def test_a_legacy_pdmodel_gets_the_tensorrt_engine_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(paddle, "is_compiled_with_cuda", lambda: True)
    monkeypatch.setattr(PaddlePredictor, "_create", lambda self: None)
    model = exported_files(tmp_path, ".pdmodel")
    predictor = PaddlePredictor(model, None, PredictorOptions(**GPU_TRT, max_batch_size=2),
                                input_shape=[None, 3, 8, 32, 32])
    calls = []
    config = SimpleNamespace(enable_use_gpu=lambda *a: calls.append(("gpu", a)),
                             enable_tensorrt_engine=lambda **k: calls.append(("trt", k)),
                             set_trt_dynamic_shape_info=lambda *a: calls.append(("shapes", a)))
    predictor._configure_gpu(config, inference)
    assert [name for name, _ in calls] == ["gpu", "trt", "shapes"]
    assert calls[1][1]["max_batch_size"] == 2 and calls[2][1][1] == {"imgs": [2, 3, 8, 32, 32]}
    assert "GPU 0, TensorRT subgraphs" in predictor.describe()


def test_without_tensorrt_nothing_claims_it(tmp_path, monkeypatch):
    monkeypatch.setattr(paddle, "is_compiled_with_cuda", lambda: True)
    monkeypatch.setattr(PaddlePredictor, "_create", lambda self: None)
    described = PaddlePredictor(exported_files(tmp_path, ".json"), None, PredictorOptions(use_gpu=True)).describe()
    assert "TensorRT" not in described and "GPU 0" in described
    assert check_tensorrt("model.json", PredictorOptions(use_gpu=True)) is None
