"""``MODEL.backbone.pretrained``: every supported format initialises the backbone, pos embed resampled."""
import numpy as np
import paddle
import pytest
from tokshift_reference_helpers import random_google_vit
from weights_helpers import OFFICIAL_NPZ, OFFICIAL_PTH, model_cfg

from paddlevideo.errors import ConfigError
from paddlevideo.modeling.builder import build_model
from paddlevideo.modeling.layers.pos_embed import resample_pos_embed
from paddlevideo.modeling.weights import read_weights
from paddlevideo.modeling.weights.google_npz import read_npz


def build_with_pretrained(path: str, img_size: int = 0, **backbone):
    cfg = model_cfg(read_npz(OFFICIAL_NPZ), num_seg=4, shift_div=4, img_size=img_size)
    cfg["backbone"].update(pretrained=path, **backbone)
    cfg["head"]["num_classes"] = 7  # the video head never comes from the image checkpoint
    return build_model(cfg, init=True)


@pytest.mark.parametrize("path", [OFFICIAL_NPZ, OFFICIAL_PTH])
def test_backbone_from_checkpoint_at_another_resolution(path, pv_log):
    model = build_with_pretrained(path, img_size=48)  # 6x6 grid from the file's 4x4
    source = read_weights(path).state
    got = model.backbone.state_dict()
    expected_pos = resample_pos_embed(source["backbone.pos_embed"], 6)
    np.testing.assert_allclose(got["pos_embed"].numpy(), expected_pos, rtol=0, atol=1e-7)
    for key, value in got.items():
        if key != "pos_embed":
            np.testing.assert_array_equal(value.numpy(), source[f"backbone.{key}"], err_msg=key)
    log = pv_log.text()
    assert "dropped the classifier" in log and "[1, 17, 24] -> [1, 37, 24]" in log


def test_paddleclas_vit_pdparams_still_load(tmp_path):
    state = read_weights(OFFICIAL_NPZ).state
    clas = {k.replace("backbone.", "").replace("head.fc.", "head."): v for k, v in state.items()}
    path = str(tmp_path / "ViT_base_patch16_224_pretrained.pdparams")
    paddle.save(clas, path)
    model = build_with_pretrained(path)
    np.testing.assert_array_equal(model.backbone.cls_token.numpy(), clas["cls_token"])


def test_npz_with_pre_logits_and_21k_head(tmp_path, pv_log):
    weights = random_google_vit(seed=5, embed_dim=24, num_heads=3, mlp_dim=48, num_classes=11,
                                pre_logits=True)
    path = str(tmp_path / "ViT-tiny-21k.npz")
    np.savez(path, **weights)
    model = build_with_pretrained(path)
    np.testing.assert_array_equal(model.backbone.norm.weight.numpy(),
                                  weights["Transformer/encoder_norm/scale"])
    assert "pre_logits" in pv_log.text() and "dropped the classifier" in pv_log.text()


def test_a_selecting_backbone_initialises_from_a_plain_file_with_its_scorers_at_init(pv_log):
    """STTS: ``pretrained`` gives the ViT weights; the scorers, absent from any such file, keep their init."""
    model = build_with_pretrained(OFFICIAL_NPZ, token_selection={"temporal": {"block": 0, "keep": 0.5}})
    source = read_weights(OFFICIAL_NPZ).state
    np.testing.assert_array_equal(model.backbone.cls_token.numpy(), source["backbone.cls_token"])
    scorers = [k for k in model.backbone.state_dict() if k.startswith("token_selection.")]
    assert scorers and "token-selection scorers" in pv_log.text()


def test_a_checkpoint_of_another_architecture_is_a_config_error():
    with pytest.raises(ConfigError, match="missing"):
        build_with_pretrained(OFFICIAL_NPZ, depth=3)
    with pytest.raises(ConfigError, match="mismatched"):
        build_with_pretrained(OFFICIAL_NPZ, mlp_ratio=4.0)
