"""``--resume`` into a model that O2 turned to float16/bfloat16: the checkpoint's float32 weights fit, and
the run continues from the float32 master weights, not from their rounded copies.

``paddle.amp.decorate`` does nothing on a CPU place (``paddle/amp/auto_cast.py``: ``amp_decorate``), so
the GPU it asks about is mocked; its casts, state-dict hooks and optimizer settings then run for real.
"""
import importlib
import types

import numpy as np
import paddle
import pytest
from test_main import tiny_args

import main
from paddlevideo.config import get_config
from paddlevideo.tasks import train as train_module
from paddlevideo.tasks.evaluate import unwrap_data_parallel
from paddlevideo.tasks.train_checkpoint import load_checkpoint, save_checkpoint
from paddlevideo.utils.runtime import Precision

AUTO_CAST = importlib.import_module("paddle.amp.auto_cast")  # ``paddle.amp.auto_cast`` names a function
NAME = "demo_tokshift_tiny"


class GpuPlace:
    """The tracer's expected place as ``amp_decorate`` asks about it, answered as on a GPU."""

    def is_gpu_place(self) -> bool:
        return True

    def is_xpu_place(self) -> bool:
        return False

    def is_custom_place(self) -> bool:
        return False


class GpuPrecision(Precision):
    """``--amp`` as on a GPU that computes in ``dtype``."""

    def __init__(self, amp: bool, level: str = "O1", dtype: str = "float16"):
        super().__init__(False, level, dtype)
        self.enabled = bool(amp)


@pytest.fixture(scope="module")
def fp32_checkpoint(demo_data, tmp_path_factory):
    """The epoch-1 checkpoint prefix of a float32 run."""
    out = tmp_path_factory.mktemp("fp32")
    assert main.main(tiny_args(demo_data, out, epochs=1)) == 0
    return str(out / f"{NAME}_epoch_00001")


def build_trainer(demo_data, out, monkeypatch, dtype=None):
    """A Trainer of the tiny config: float32, or with ``dtype`` decorated at O2 as on a GPU."""
    args = main.parse_args(tiny_args(demo_data, out, epochs=2))
    cfg = get_config(args.config, overrides=args.override, show=False)
    options = train_module.TrainOptions(amp=dtype is not None, amp_level="O2", amp_dtype=dtype or "float16")
    with monkeypatch.context() as patch:
        patch.setattr(train_module, "Precision", GpuPrecision)
        patch.setattr(AUTO_CAST, "_dygraph_tracer", lambda: types.SimpleNamespace(_expected_place=GpuPlace()))
        patch.setattr(AUTO_CAST, "_is_gpu_float16_supported", lambda: True)
        patch.setattr(AUTO_CAST, "_is_gpu_bfloat16_supported", lambda: True)
        return train_module.Trainer(cfg, options)


def write_o2_checkpoint(trainer, fp32_checkpoint: str, prefix: str):
    """The pair an O2 run of ``trainer``'s precision writes: float32 master weights (here the float32
    run's weights moved off the low-precision grid) in the optimizer state, their rounded copies -- the
    parameters -- cast back to float32 in ``.pdparams`` (``save_dtype``); a parameter O2 keeps in float32
    has no master copy. Returns ``(masters, saved weights)``."""
    weights, state = load_checkpoint(fp32_checkpoint)
    dtypes = {k: v.dtype for k, v in unwrap_data_parallel(trainer.model).state_dict(use_hook=False).items()}
    noise = np.random.default_rng(0)
    masters, saved = {}, {}
    for name, value in weights.items():
        full = paddle.to_tensor(value.numpy() + 1e-4 * noise.standard_normal(value.shape).astype("float32"))
        if dtypes[name] in (paddle.float16, paddle.bfloat16):
            masters[name] = full
            saved[name] = paddle.cast(paddle.cast(full, dtypes[name]), "float32")
        else:
            saved[name] = full
    save_checkpoint(prefix, saved, {**state, "optimizer": {**state["optimizer"], "master_weights": masters}})
    return masters, saved


def assert_resumed_from(trainer, masters, saved, dtype):
    """Low-precision parameters are their master weights rounded, and the optimizer updates those master
    weights (``Optimizer._create_master_weight`` is where its step takes them); the rest are as saved."""
    for name, param in unwrap_data_parallel(trainer.model).named_parameters():
        if name in masters:
            rounded = paddle.cast(paddle.cast(masters[name], dtype), "float32")
            np.testing.assert_array_equal(param.astype("float32").numpy(), rounded.numpy(), err_msg=name)
            master = trainer.optimizer._create_master_weight(param)
            assert master.dtype == paddle.float32
            np.testing.assert_array_equal(master.numpy(), masters[name].numpy(), err_msg=name)
        else:
            np.testing.assert_array_equal(param.numpy(), saved[name].numpy(), err_msg=name)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_an_o2_checkpoint_resumes_from_its_master_weights(demo_data, tmp_path, monkeypatch, fp32_checkpoint,
                                                          dtype):
    trainer = build_trainer(demo_data, tmp_path, monkeypatch, dtype)
    params = dict(unwrap_data_parallel(trainer.model).named_parameters())
    assert params["backbone.patch_embed.proj.weight"].dtype == getattr(paddle, dtype)
    masters, saved = write_o2_checkpoint(trainer, fp32_checkpoint, str(tmp_path / f"{NAME}_latest"))
    assert any(not np.array_equal(masters[k].numpy(), saved[k].numpy()) for k in masters)  # O2 rounded them
    assert (len(masters) < len(params)) == (dtype == "float16")  # float16 O2 keeps LayerNorm in float32

    trainer.resume("auto")
    assert_resumed_from(trainer, masters, saved, dtype)

    trainer.save("again")  # the resumed run's next checkpoint keeps the master weights
    again = build_trainer(demo_data, tmp_path, monkeypatch, dtype)
    again.resume(str(tmp_path / f"{NAME}_again.pdparams"))
    assert_resumed_from(again, masters, saved, dtype)


def test_a_float32_checkpoint_resumed_at_o2_takes_its_master_weights_unrounded(demo_data, tmp_path, monkeypatch,
                                                                               fp32_checkpoint):
    weights, _ = load_checkpoint(fp32_checkpoint)
    trainer = build_trainer(demo_data, tmp_path, monkeypatch, "bfloat16")
    trainer.resume(fp32_checkpoint + ".pdparams")
    for name, param in unwrap_data_parallel(trainer.model).named_parameters():
        np.testing.assert_array_equal(trainer.optimizer._create_master_weight(param).numpy(), weights[name].numpy(),
                                      err_msg=name)


def test_an_o2_checkpoint_resumed_in_float32_takes_the_master_weights(demo_data, tmp_path, monkeypatch,
                                                                      fp32_checkpoint):
    """As when a run trained at O2 on a GPU continues on a machine without one."""
    o2 = build_trainer(demo_data, tmp_path, monkeypatch, "float16")
    masters, saved = write_o2_checkpoint(o2, fp32_checkpoint, str(tmp_path / f"{NAME}_latest"))
    trainer = build_trainer(demo_data, tmp_path, monkeypatch)
    trainer.resume("auto")
    for name, param in unwrap_data_parallel(trainer.model).named_parameters():
        assert param.dtype == paddle.float32
        np.testing.assert_array_equal(param.numpy(), masters.get(name, saved[name]).numpy(), err_msg=name)
    assert trainer.optimizer.state_dict().get("master_weights") is None  # none to save again, stale
