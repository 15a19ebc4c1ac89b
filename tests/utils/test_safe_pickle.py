"""``load_file`` reads ``paddle.save`` files as ``paddle.load`` does, and refuses pickles that would run code."""
import collections
import pickle

import numpy as np
import paddle
import pytest
from pickle_helpers import SYSTEM, write_malicious

from paddlevideo.errors import ConfigError
from paddlevideo.utils import load, load_ckpt
from paddlevideo.utils.checkpoint import load_file
from paddlevideo.utils.safe_pickle import BIG_ARRAYS, NAME_TABLE, load_paddle


@pytest.fixture
def malicious(tmp_path):
    marker = tmp_path / "MARKER"
    return write_malicious(tmp_path / "evil.pdparams", marker, weight=np.zeros(2, np.float32)), marker


def assert_refused(err_text: str, path: str, marker) -> None:
    assert f"refusing to load {path}" in err_text and SYSTEM in err_text
    assert not marker.exists()


@pytest.mark.parametrize("reader", [load_file, load, lambda path: load_ckpt(paddle.nn.Linear(2, 2), path)],
                         ids=["load_file", "utils.load", "load_ckpt"])
def test_malicious_pickle_is_refused_before_it_runs(malicious, reader):
    path, marker = malicious
    with pytest.raises(ConfigError) as err:
        reader(path)
    assert_refused(str(err.value), path, marker)


@pytest.mark.parametrize("pickle_bytes, message", [
    # paddle.save of a bare DenseTensor pickles ``eval``: a weights file never needs it, so refuse
    (b"cbuiltins\neval\n(Vprint('ran')\ntR.", "builtins.eval"),
    # _codecs.encode is allowed for protocol 2's bytes, and only with latin1
    (b"c_codecs\nencode\n(Vabc\nVrot13\ntR.", "latin1"),
], ids=["eval", "codecs-rot13"])
def test_callables_beyond_plain_data_are_refused(tmp_path, pickle_bytes, message):
    path = tmp_path / "refused.pdparams"
    path.write_bytes(pickle_bytes)
    with pytest.raises(ConfigError, match=message):
        load_file(str(path))


def test_truncated_file_keeps_the_readable_error(tmp_path):
    path = tmp_path / "cut.pdparams"
    paddle.save({"w": paddle.ones([3])}, str(path))
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(ConfigError, match=f"cannot read weights file {path}"):
        load_file(str(path))


def assert_same(ours, theirs, where="$"):
    """Same structure, types, tensor names and values as ``paddle.load``."""
    assert type(ours) is type(theirs), where
    if isinstance(ours, dict):
        assert list(ours) == list(theirs), where
        for key in ours:
            assert_same(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(ours, (list, tuple)):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(ours, paddle.Tensor):
        assert ours.dtype == theirs.dtype, where
        if not theirs.name.startswith("generated_tensor"):  # unnamed tensors are numbered per load
            assert ours.name == theirs.name, where
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=where)
    elif isinstance(ours, np.ndarray):
        assert ours.dtype == theirs.dtype, where
        np.testing.assert_array_equal(ours, theirs, err_msg=where)
    else:
        assert ours == theirs, where


def trained_states():
    """Model, Momentum and AdamW (with LR schedulers) states after one step of a tiny model."""
    paddle.seed(0)
    model = paddle.nn.Sequential(paddle.nn.Linear(4, 3), paddle.nn.BatchNorm1D(3), paddle.nn.Linear(3, 2))
    momentum = paddle.optimizer.Momentum(paddle.optimizer.lr.MultiStepDecay(0.1, milestones=[2, 4]),
                                         parameters=model.parameters())
    adamw = paddle.optimizer.AdamW(paddle.optimizer.lr.CosineAnnealingDecay(0.1, T_max=10),
                                   parameters=model.parameters(), weight_decay=0.05)
    for optimizer in (momentum, adamw):
        model(paddle.randn([5, 4])).sum().backward()
        optimizer.step()
        optimizer.clear_grad()
        optimizer._learning_rate.step()
    adamw_state = adamw.state_dict()
    adamw_state["master_weights"] = {p.name: p.astype("float32") for p in model.parameters()}
    nested = {"optimizer": adamw_state, "epoch": 3, "step": 0, "best_top1": 0.5, "seed": None,
              "extra": collections.OrderedDict(a=[1, 2.0, "x", (1, 2)], t=paddle.arange(3)),
              "rng": np.arange(5, dtype=np.uint8), "numpy_scalar": np.float32(0.25)}
    return {"model.pdparams": model.state_dict(), "momentum.pdopt": momentum.state_dict(),
            "adamw.pdopt": adamw_state, "nested.pdopt": nested, "tensor.pdparams": paddle.ones([2, 3])}


@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_real_paddle_files_load_as_paddle_load_returns_them(tmp_path, protocol):
    for name, obj in trained_states().items():
        path = str(tmp_path / name)
        paddle.save(obj, path, protocol=protocol)
        assert_same(load_file(path), paddle.load(path), name)


def test_sliced_big_arrays_are_joined(tmp_path):
    """The layout ``paddle.save`` (protocol 2/3) gives arrays over 1 GiB, written by hand at a small size."""
    big = np.arange(12, dtype=np.float32).reshape(3, 4)
    saved = {"small": np.ones(2, np.float32), "big@@.0": big.ravel()[:5], "big@@.1": big.ravel()[5:],
             BIG_ARRAYS: {"big": {"OriginShape": (3, 4), "slices": ["big@@.0", "big@@.1"]}},
             NAME_TABLE: {"small": "linear_0.b_0", "big": "linear_0.w_0"}}
    path = str(tmp_path / "big.pdparams")
    with open(path, "wb") as handle:
        pickle.dump(saved, handle, protocol=2)
    ours = load_paddle(path)
    assert_same(ours, paddle.load(path))
    assert list(ours) == ["small", "big"] and ours["big"].name == "linear_0.w_0"
    np.testing.assert_array_equal(ours["big"].numpy(), big)
