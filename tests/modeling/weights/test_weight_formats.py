"""Format detection, renaming and the rejection of partial or foreign files."""
import zipfile

import numpy as np
import paddle
import pytest
from tokshift_reference_helpers import random_google_vit
from weights_helpers import OFFICIAL_NPZ, OFFICIAL_PTH, model_cfg

from paddlevideo.errors import ConfigError
from paddlevideo.modeling.builder import build_model
from paddlevideo.modeling.weights import read_weights, summarize
from paddlevideo.modeling.weights.google_npz import google_vit_to_paddle, read_npz
from paddlevideo.modeling.weights.official_pth import (
    official_tokshift_to_paddle,
    unwrap_checkpoint,
)
from paddlevideo.modeling.weights.torch_pth import read_pth


def save_npz(tmp_path, weights, name="w.npz") -> str:
    path = tmp_path / name
    np.savez(path, **weights)
    return str(path)


def model_keys(google) -> set:
    return set(build_model(model_cfg(google, 8, 4), init=False).state_dict())


def test_official_pth_and_its_google_twin_convert_to_the_same_state():
    from_pth, from_npz = read_weights(OFFICIAL_PTH), read_weights(OFFICIAL_NPZ)
    assert (from_pth.format, from_npz.format) == ("official-pth", "google-npz")
    assert set(from_pth.state) == set(from_npz.state) == model_keys(read_npz(OFFICIAL_NPZ))
    for key, value in from_npz.state.items():
        assert from_pth.state[key].dtype == np.float32
        np.testing.assert_array_equal(from_pth.state[key], value, err_msg=key)


def test_summary_reports_the_architecture():
    summary = summarize(read_weights(OFFICIAL_NPZ))
    assert summary == {"format": "google-npz", "embed_dim": 24, "depth": 2, "num_heads": 3,
                       "mlp_hidden": 48, "patch_size": 8, "pos_grid": "4x4 (img_size 32)", "num_classes": 5}
    assert summarize(read_weights(OFFICIAL_PTH))["num_heads"] == "not stored in this format"


def test_qkv_is_query_key_value_along_the_output_axis():
    google = random_google_vit(seed=3)
    state = google_vit_to_paddle(google)
    attn = "Transformer/encoderblock_1/MultiHeadDotProductAttention_1/"
    qkv = state["backbone.blocks.1.attn.qkv.weight"].reshape(32, 3, 4, 8)  # [D, 3, heads, head_dim]
    for i, part in enumerate(("query", "key", "value")):
        np.testing.assert_array_equal(qkv[:, i], google[attn + part + "/kernel"])


def test_pre_logits_is_ignored_with_a_note(tmp_path, pv_log):
    state = read_weights(save_npz(tmp_path, random_google_vit(seed=1, pre_logits=True))).state
    assert not any("pre_logits" in k for k in state)
    assert "pre_logits" in pv_log.text()


@pytest.mark.parametrize("change,message", [
    (lambda w: w.pop("Transformer/encoderblock_1/MlpBlock_3/Dense_0/bias"), "missing"),
    (lambda w: w.pop("Transformer/encoder_norm/scale"), "missing"),
    (lambda w: w.update({"conv_root/kernel": np.zeros((7, 7, 3, 64), np.float32)}), "conv_root"),
    (lambda w: w.pop("head/bias"), "head"),
    (lambda w: [w.pop(k) for k in list(w) if k.startswith("Transformer/encoderblock_0/")], "numbered"),
])
def test_partial_or_other_google_files_are_rejected(tmp_path, change, message):
    weights = random_google_vit(seed=2)
    change(weights)
    with pytest.raises(ConfigError, match=message):
        read_weights(save_npz(tmp_path, weights))


def test_partial_official_state_is_rejected():
    state = unwrap_checkpoint(read_pth(OFFICIAL_PTH))
    del state["transformer.encoder.layer.1.attn.key.bias"]
    with pytest.raises(ConfigError, match="attn.key.bias"):
        official_tokshift_to_paddle(state)


def test_unwrap_checkpoint_accepts_model_entry_and_unprefixed_names():
    state = unwrap_checkpoint(read_pth(OFFICIAL_PTH))
    assert "transformer.embeddings.cls_token" in unwrap_checkpoint({"model": state})
    assert unwrap_checkpoint({"model": state}).keys() == unwrap_checkpoint(state).keys()


def test_paddlevideo_pdparams_load_as_is(tmp_path):
    google = read_npz(OFFICIAL_NPZ)
    model = build_model(model_cfg(google, 8, 4), init=True)
    path = str(tmp_path / "tokshift.pdparams")
    paddle.save(model.state_dict(), path)
    weights = read_weights(path)
    assert weights.format == "paddle"
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(weights.state[key], value.numpy(), err_msg=key)


def test_paddleclas_vit_gets_backbone_and_head_fc_names(tmp_path):
    state = read_weights(OFFICIAL_NPZ).state
    clas = {k.replace("backbone.", "").replace("head.fc.", "head."): v for k, v in state.items()}
    path = str(tmp_path / "ViT_base_patch16_224_pretrained.pdparams")
    paddle.save(clas, path)
    assert set(read_weights(path).state) == set(state)


def test_partial_pdparams_is_rejected(tmp_path):
    state = read_weights(OFFICIAL_NPZ).state
    del state["backbone.blocks.1.mlp.fc2.weight"]
    path = str(tmp_path / "partial.pdparams")
    paddle.save(state, path)
    with pytest.raises(ConfigError, match="blocks.1.mlp.fc2.weight"):
        read_weights(path)


def test_unknown_files_are_rejected_saying_what_was_found(tmp_path):
    npz = save_npz(tmp_path, {"features": np.zeros(3)}, "other.npz")
    with pytest.raises(ConfigError, match="not a Google ViT.*features"):
        read_weights(npz)
    archive = tmp_path / "other.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ConfigError, match="readme.txt"):
        read_weights(str(archive))
    garbage = tmp_path / "garbage.pdparams"
    garbage.write_bytes(b"\x00\x01not weights")
    with pytest.raises(ConfigError):
        read_weights(str(garbage))
    with pytest.raises(ConfigError, match="not found"):
        read_weights(str(tmp_path / "missing.npz"))
