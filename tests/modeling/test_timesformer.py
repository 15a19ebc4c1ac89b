"""TimeSformer: logits of an independent float64 numpy official forward, PaddleVideo's names, official init.

The weights go through the real path: official-layout arrays -> an official ``.pyth`` training checkpoint
(written without PyTorch) -> ``read_weights`` -> a strict load into the recognizer. The random weights
are scaled so that LayerNorm eps 1e-5 (instead of 1e-6) and tanh-GELU move the logits by more than 5x
the tolerance (checked below), against float32 rounding of ~1e-5.
"""
import numpy as np
import paddle
import pytest
from mutation_helpers import layer_norm_eps_1e5, tanh_gelu
from timesformer_helpers import (
    ATTENTION_TYPES,
    CLASSES,
    DIM,
    FRAMES,
    GRID,
    HEADS,
    PATCH,
    TOL,
    logits,
    tiny_cfg,
    video,
    write_official_checkpoint,
)
from timesformer_reference_helpers import random_timesformer, timesformer_logits

from paddlevideo.errors import ConfigError
from paddlevideo.modeling.builder import build_model
from paddlevideo.modeling.weights import read_weights
from paddlevideo.modeling.weights.loading import load_weights


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """Per attention type: official-layout random weights and the recognizer loaded from their .pyth."""
    root, out = tmp_path_factory.mktemp("pyth"), {}
    for i, attention_type in enumerate(ATTENTION_TYPES):
        weights = random_timesformer(seed=i, attention_type=attention_type, embed_dim=DIM, patch=PATCH,
                                     grid=GRID, num_frames=FRAMES, num_classes=CLASSES)
        path = write_official_checkpoint(root / f"{attention_type}.pyth", weights)
        model = build_model(tiny_cfg(attention_type), init=False)
        load_weights(model, read_weights(path).state, source=path, strict=True)
        model.eval()
        out[attention_type] = (weights, model)
    return out


CASES = [  # (attention type, clip length T, input H, input W); the model's are T=4, 32x32
    ("divided_space_time", 4, 32, 32), ("space_only", 4, 32, 32), ("joint_space_time", 4, 32, 32),
    ("divided_space_time", 2, 32, 32), ("divided_space_time", 7, 32, 32),  # time embedding resized
    ("divided_space_time", 4, 48, 48), ("divided_space_time", 3, 40, 24),  # position grid resized
    ("space_only", 3, 24, 40), ("joint_space_time", 6, 48, 32),
]


@pytest.mark.parametrize("attention_type,frames,height,width", CASES)
def test_logits_match_the_numpy_official_forward(official, attention_type, frames, height, width):
    weights, model = official[attention_type]
    clip = video(frames, height, width)
    expected = timesformer_logits(weights, clip, HEADS, attention_type)
    assert np.abs(logits(model, clip) - expected).max() < TOL


@pytest.mark.parametrize("height,width", [(48, 48), (64, 40)])
def test_logits_match_for_a_model_of_another_img_size(tmp_path, height, width):
    """A model built for 48 px (6x6 grid) from a 48 px checkpoint, fed 48x48 and 64x40 clips."""
    weights = random_timesformer(seed=9, embed_dim=DIM, patch=PATCH, grid=6, num_frames=FRAMES)
    path = write_official_checkpoint(tmp_path / "w48.pyth", weights)
    cfg = tiny_cfg()
    cfg["backbone"]["img_size"] = 6 * PATCH
    model = build_model(cfg, init=False)
    load_weights(model, read_weights(path).state, source=path, strict=True)
    model.eval()
    clip = video(FRAMES, height, width)
    assert np.abs(logits(model, clip) - timesformer_logits(weights, clip, HEADS)).max() < TOL


@pytest.mark.parametrize("mutate", [layer_norm_eps_1e5, tanh_gelu])
def test_tolerance_catches_eps_and_gelu_slips(official, tmp_path, mutate):
    weights, _ = official["divided_space_time"]
    path = write_official_checkpoint(tmp_path / "w.pyth", weights)
    model = build_model(tiny_cfg(), init=False)
    load_weights(model, read_weights(path).state, source=path, strict=True)
    model.eval()
    mutate(model)
    clip = video(FRAMES, 32, 32)
    assert np.abs(logits(model, clip) - timesformer_logits(weights, clip, HEADS)).max() > 5 * TOL


def test_backbone_returns_the_class_feature_and_the_recognizer_averages_views(official):
    _, model = official["divided_space_time"]
    clip = paddle.to_tensor(video(FRAMES, 32, 32))
    assert model.backbone(clip).shape == [2, DIM]
    three_views = paddle.concat([clip, clip * 0.5, -clip], axis=2)  # [B, 3, 3*T, H, W]
    with paddle.no_grad():
        per_view = [model.head(model.backbone(v)) for v in (clip, clip * 0.5, -clip)]
        np.testing.assert_allclose(model([three_views], mode="test").numpy(),
                                   paddle.stack(per_view, axis=1).mean(axis=1).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="expected"):
        model.backbone(clip[:, :, 0])


def test_fused_attention_matches_explicit(official):
    _, model = official["divided_space_time"]
    clip = video(FRAMES, 32, 32)
    explicit = logits(model, clip)
    model.backbone.set_attn_impl("fused")
    try:
        np.testing.assert_allclose(logits(model, clip), explicit, atol=1e-4)
    finally:
        model.backbone.set_attn_impl("explicit")


def paddlevideo_layout(attention_type: str, depth: int = 2, dim: int = DIM, classes: int = CLASSES) -> dict:
    """Name -> shape of PaddleVideo's ``VisionTransformer`` (backbones/vit.py) + ``TimeSformerHead``."""
    shapes = {"backbone.cls_token": [1, 1, dim], "backbone.pos_embed": [1, GRID * GRID + 1, dim],
              "backbone.patch_embed.proj.weight": [dim, 3, PATCH, PATCH], "backbone.patch_embed.proj.bias": [dim],
              "backbone.norm.weight": [dim], "backbone.norm.bias": [dim],
              "head.fc.weight": [dim, classes], "head.fc.bias": [classes]}
    if attention_type != "space_only":
        shapes["backbone.time_embed"] = [1, FRAMES, dim]
    attentions = ["attn"] + (["temporal_attn"] if attention_type == "divided_space_time" else [])
    norms = ["norm1", "norm2"] + (["temporal_norm1"] if attention_type == "divided_space_time" else [])
    for i in range(depth):
        block = f"backbone.blocks.{i}."
        for name in attentions:
            shapes.update({block + name + ".qkv.weight": [dim, 3 * dim], block + name + ".qkv.bias": [3 * dim],
                           block + name + ".proj.weight": [dim, dim], block + name + ".proj.bias": [dim]})
        for name in norms:
            shapes.update({block + name + ".weight": [dim], block + name + ".bias": [dim]})
        if attention_type == "divided_space_time":
            shapes.update({block + "temporal_fc.weight": [dim, dim], block + "temporal_fc.bias": [dim]})
        shapes.update({block + "mlp.fc1.weight": [dim, 4 * dim], block + "mlp.fc1.bias": [4 * dim],
                       block + "mlp.fc2.weight": [4 * dim, dim], block + "mlp.fc2.bias": [dim]})
    return shapes


@pytest.mark.parametrize("attention_type", ATTENTION_TYPES)
def test_state_dict_names_and_shapes_are_paddlevideos(attention_type):
    model = build_model(tiny_cfg(attention_type), init=False)
    assert {k: list(v.shape) for k, v in model.state_dict().items()} == paddlevideo_layout(attention_type)


def test_official_initialisation():
    paddle.seed(0)
    model = build_model(tiny_cfg(dim=192, num_classes=400))
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    linear = [k for k, v in state.items() if k.endswith(".weight") and v.ndim == 2 and "temporal_fc" not in k]
    assert len(linear) == 2 * 6 + 1  # per block qkv, proj, temporal qkv, temporal proj, fc1, fc2; the head
    for key in linear:
        assert abs(state[key].std() - 0.02) < 1e-3, key  # N(0, 0.02): timm's trunc_normal_ bounds are +-2
    for key in ("backbone.pos_embed", "backbone.cls_token"):
        assert 0.01 < state[key].std() < 0.03
    zero = ["backbone.time_embed"] + [k for k in state if "temporal_fc" in k or k.endswith(".bias")
                                      and "patch_embed" not in k]
    for key in zero:
        assert not state[key].any(), key
    for key in (k for k in state if k.endswith("norm1.weight") or k.endswith("norm2.weight")):
        assert (state[key] == 1).all(), key
    fan_in = 3 * PATCH * PATCH
    assert np.abs(state["backbone.patch_embed.proj.weight"]).max() <= 1 / np.sqrt(fan_in)  # torch's conv default


def test_every_parameter_gets_a_gradient(official):
    _, model = official["divided_space_time"]
    model.train()
    try:
        labels = paddle.to_tensor([1, 3])
        model([paddle.to_tensor(video(FRAMES, 32, 32)), labels], mode="train")["loss"].backward()
        for name, param in model.named_parameters():
            assert param.grad is not None and float(param.grad.abs().max()) > 0, name
    finally:
        model.clear_gradients()
        model.eval()


@pytest.mark.parametrize("key,value,message", [("attention_type", "divided", "attention_type"),
                                               ("num_seg", 0, "num_seg"), ("img_size", 30, "multiple")])
def test_invalid_settings_are_config_errors(key, value, message):
    cfg = tiny_cfg()
    cfg["backbone"][key] = value
    with pytest.raises(ConfigError, match=message):
        build_model(cfg, init=False)
