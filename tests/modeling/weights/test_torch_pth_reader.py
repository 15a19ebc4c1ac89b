"""The torch-free ``.pth`` reader: exact tensors, training-checkpoint structure, and refusals."""
import collections
import os
import pickle
import zipfile

import numpy as np
import pytest
from weights_helpers import DTYPES_NPZ, DTYPES_PTH, OFFICIAL_PTH

from paddlevideo.errors import ConfigError
from paddlevideo.modeling.weights.torch_pth import read_pth


def test_dtypes_strides_offsets_and_shared_storage_match_torch():
    got, expected = read_pth(DTYPES_PTH), np.load(DTYPES_NPZ)
    assert sorted(got) == sorted(expected.files)
    for key in expected.files:
        assert got[key].dtype == expected[key].dtype, key
        assert got[key].shape == expected[key].shape, key
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)


def test_official_training_checkpoint_structure():
    ckpt = read_pth(OFFICIAL_PTH)
    assert sorted(ckpt) == ["best_acc1", "epoch", "optimizer", "scheduler", "state_dict"]
    state = ckpt["state_dict"]
    assert isinstance(state, collections.OrderedDict)
    assert all(k.startswith("module.base_model.") for k in state)
    assert state["module.base_model.transformer.encoder.layer.1.attn.query.weight"].shape == (24, 24)
    assert isinstance(ckpt["scheduler"]["milestones"], collections.Counter)
    assert ckpt["optimizer"]["state"][0]["momentum_buffer"].shape == state[next(iter(state))].shape


def write_pth(path, pickle_bytes: bytes, storages=None) -> str:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle_bytes)
        for key, raw in (storages or {}).items():
            archive.writestr(f"archive/data/{key}", raw)
    return str(path)


def tensor_pickle(size: int, numel: int) -> bytes:
    """Hand-assembled protocol-2 pickle of one float tensor ``[size]`` on a storage of ``numel``."""
    return (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(("
            b"X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpu"
            + b"K" + bytes([numel]) + b"tQK\x00K" + bytes([size]) + b"\x85K\x01\x85\x89"
            b"ccollections\nOrderedDict\n)RtR.")


def test_hand_built_tensor_reads(tmp_path):
    values = np.arange(4, dtype="<f4")
    path = write_pth(tmp_path / "ok.pth", tensor_pickle(size=3, numel=4), {"0": values.tobytes()})
    np.testing.assert_array_equal(read_pth(path), values[:3])


def test_tensor_past_its_storage_is_refused(tmp_path):
    storage = {"0": np.zeros(4, "<f4").tobytes()}
    path = write_pth(tmp_path / "oob.pth", tensor_pickle(size=9, numel=4), storage)
    with pytest.raises(ConfigError, match="past its storage"):
        read_pth(path)


def test_truncated_storage_is_refused(tmp_path):
    path = write_pth(tmp_path / "short.pth", tensor_pickle(size=3, numel=4), {"0": b"\0" * 8})
    with pytest.raises(ConfigError, match="holds 8 bytes"):
        read_pth(path)


class RunsCommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_code_in_the_pickle_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    path = write_pth(tmp_path / "evil.pth", pickle.dumps({"w": RunsCommand(marker)}, protocol=2))
    with pytest.raises(ConfigError, match="refusing to load"):
        read_pth(path)
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"not a checkpoint", pickle.dumps({"a": 1})])
def test_non_zip_files_are_refused(tmp_path, content):
    path = tmp_path / "legacy.pth"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="not a PyTorch zip checkpoint"):
        read_pth(str(path))
