"""TimeSformer weights: official ``.pyth`` conversion, PaddleVideo ``.pdparams``, image-ViT initialisation."""
import os
import subprocess
import sys

import numpy as np
import paddle
import pytest
from timesformer_helpers import FRAMES, HEADS, as_state_dict, save_pth, tiny_cfg, video, write_official_checkpoint
from timesformer_reference_helpers import random_timesformer, timesformer_logits, torch_nearest

from paddlevideo.errors import ConfigError
from paddlevideo.modeling.builder import build_model
from paddlevideo.modeling.weights import read_weights, summarize
from paddlevideo.modeling.weights.loading import load_weights

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GOOGLE_NPZ = os.path.join(ROOT, "tests", "fixtures", "tokshift_tiny_official.npz")  # embed 24, 3 heads, MLP 48
DEMO_CONFIG = os.path.join(ROOT, "configs", "recognition", "timesformer", "demo_timesformer_tiny.yaml")


def tiny_demo_overrides(size: int, frames: int, dim: int) -> list:
    """``-o`` items resizing demo_timesformer_tiny.yaml's model, samplers, crops and INFERENCE together."""
    items = [f"MODEL.backbone.img_size={size}", f"MODEL.backbone.embed_dim={dim}", f"MODEL.backbone.num_seg={frames}",
             f"MODEL.head.in_channels={dim}", f"INFERENCE.num_seg={frames}", f"INFERENCE.target_size={size}",
             f"PIPELINE.train.transform.0.JitterScale={{'min_size': {size}, 'max_size': {size + 4}}}",
             f"PIPELINE.train.transform.1.RandomCrop.target_size={size}"]
    for mode in ("train", "valid", "test"):
        items.append(f"PIPELINE.{mode}.sample.num_seg={frames}")
    for mode in ("valid", "test"):
        items += [f"PIPELINE.{mode}.transform.0.Scale.short_size={size}",
                  f"PIPELINE.{mode}.transform.1.CenterCrop.target_size={size}"]
    return items


@pytest.fixture
def log_text(log_lines):
    """Messages of the ``paddlevideo`` logger during the test, joined."""
    return lambda: "\n".join(log_lines)


@pytest.fixture(scope="module")
def divided(tmp_path_factory):
    weights = random_timesformer(seed=3)
    return weights, write_official_checkpoint(tmp_path_factory.mktemp("w") / "k400.pyth", weights)


def test_official_pyth_converts_to_paddlevideo_names_and_layouts(divided):
    weights, path = divided
    converted = read_weights(path)
    assert converted.format == "timm-pth"
    assert len(converted.state) == len(weights)
    for key, value in weights.items():
        name = {"head.weight": "head.fc.weight", "head.bias": "head.fc.bias"}.get(key, f"backbone.{key}")
        np.testing.assert_array_equal(converted.state[name], value.T if value.ndim == 2 else value, err_msg=key)
    summary = summarize(converted)
    assert summary["temporal"] == "divided space-time attention, time_embed for 4 frames"
    assert (summary["embed_dim"], summary["depth"], summary["num_classes"]) == (32, 2, 5)


def test_ddp_prefix_and_bare_timm_state_dicts(tmp_path):
    weights = random_timesformer(seed=4, attention_type="space_only")  # an image ViT in timm names
    ddp = save_pth({"model_state": as_state_dict({f"module.model.{k}": v for k, v in weights.items()})},
                   str(tmp_path / "ddp.pyth"))
    timm = save_pth(as_state_dict({**weights, "pre_logits.fc.weight": np.zeros((32, 32), np.float32),
                                   "pre_logits.fc.bias": np.zeros(32, np.float32)}), str(tmp_path / "vit.pth"))
    for path in (ddp, timm):
        state = read_weights(path).state
        assert "backbone.blocks.1.mlp.fc2.weight" in state and not any("pre_logits" in k for k in state)


def test_partial_or_mixed_checkpoints_are_rejected(tmp_path):
    weights = random_timesformer(seed=5)
    del weights["blocks.1.temporal_fc.bias"]
    path = write_official_checkpoint(tmp_path / "partial.pyth", weights)
    with pytest.raises(ConfigError, match=r"blocks\.1\.temporal_fc\.bias"):
        read_weights(path)
    weights = random_timesformer(seed=5)
    weights["blocks.0.extra.weight"] = np.zeros((2, 2), np.float32)
    with pytest.raises(ConfigError, match="unknown.*extra"):
        read_weights(write_official_checkpoint(tmp_path / "odd.pyth", weights))


def test_convert_weights_cli_pyth_to_pdparams_that_main_loads(divided, tmp_path):
    weights, path = divided
    dst = tmp_path / "timesformer.pdparams"
    overrides = ["MODEL.backbone.patch_size=8", "MODEL.backbone.depth=2", "MODEL.backbone.num_heads=4",
                 "MODEL.head.num_classes=5"] + tiny_demo_overrides(size=32, frames=4, dim=32)
    run = subprocess.run([sys.executable, "tools/convert_weights.py", path, str(dst), "-c", DEMO_CONFIG]
                         + [arg for item in overrides for arg in ("-o", item)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "format: timm-pth" in run.stdout and "temporal: divided space-time attention" in run.stdout
    assert "verified" in run.stdout
    model = build_model(tiny_cfg(), init=False)
    load_weights(model, paddle.load(str(dst)), source=str(dst), strict=True)
    model.eval()
    clip = video(FRAMES, 32, 32)
    with paddle.no_grad():
        got = model([paddle.to_tensor(clip)], mode="infer").numpy()
    assert np.abs(got - timesformer_logits(weights, clip, HEADS)).max() < 1e-4


def test_paddlevideo_pdparams_load_unchanged(tmp_path):
    model = build_model(tiny_cfg())
    path = str(tmp_path / "TimeSformer_k400.pdparams")
    paddle.save(model.state_dict(), path)
    converted = read_weights(path)
    assert converted.format == "paddle"
    assert {k: list(v.shape) for k, v in converted.state.items()} == \
        {k: list(v.shape) for k, v in model.state_dict().items()}


def with_pretrained(path: str, attention_type: str = "divided_space_time", **backbone):
    cfg = tiny_cfg(attention_type)
    cfg["backbone"].update(pretrained=path, **backbone)
    cfg["head"]["num_classes"] = 7  # the video head never comes from the pretrained file
    paddle.seed(0)
    return build_model(cfg, init=True)


@pytest.fixture(scope="module")
def image_vit(tmp_path_factory):
    """A timm-layout image ViT ``.pth`` (what the official code fine-tunes from), 1000-class head."""
    weights = random_timesformer(seed=6, attention_type="space_only", num_classes=1000)
    return weights, save_pth(as_state_dict(weights), str(tmp_path_factory.mktemp("vit") / "vit.pth"))


def test_image_vit_init_copies_spatial_into_temporal_and_zeroes_the_rest(image_vit, log_text):
    weights, path = image_vit
    state = {k: v.numpy() for k, v in with_pretrained(path).backbone.state_dict().items()}
    for i in range(2):
        for name in ("qkv.weight", "qkv.bias", "proj.weight", "proj.bias"):
            np.testing.assert_array_equal(state[f"blocks.{i}.temporal_attn.{name}"], state[f"blocks.{i}.attn.{name}"])
        for name in ("weight", "bias"):
            np.testing.assert_array_equal(state[f"blocks.{i}.temporal_norm1.{name}"],
                                          weights[f"blocks.{i}.norm1.{name}"])
            assert not state[f"blocks.{i}.temporal_fc.{name}"].any()
        np.testing.assert_array_equal(state[f"blocks.{i}.attn.qkv.weight"], weights[f"blocks.{i}.attn.qkv.weight"].T)
    assert not state["time_embed"].any()
    log = log_text()
    assert "initialised from the spatial ones" in log and "dropped the classifier" in log


@pytest.mark.parametrize("attention_type", ["divided_space_time", "space_only"])
def test_image_vit_init_computes_the_image_model_on_a_still_clip(image_vit, attention_type):
    """Zero temporal_fc and time_embed: every frame of a still clip gets the image ViT's class token."""
    weights, path = image_vit
    model = with_pretrained(path, attention_type)
    model.eval()
    frame = video(1, 32, 32)
    clip = np.repeat(frame, FRAMES, axis=2)
    image = {k: v for k, v in weights.items() if not k.startswith("head.")}
    image.update({"head.weight": np.eye(32, dtype=np.float32), "head.bias": np.zeros(32, np.float32)})
    expected = timesformer_logits(image, frame, HEADS, "space_only")  # the ViT on one image: its feature
    with paddle.no_grad():
        got = model.backbone(paddle.to_tensor(clip)).numpy()
    assert np.abs(got - expected).max() < 1e-4


def test_google_npz_and_paddleclas_pdparams_initialise_timesformer(tmp_path):
    state = read_weights(GOOGLE_NPZ).state
    clas = {k.replace("backbone.", "").replace("head.fc.", "head."): v for k, v in state.items()}
    pdparams = str(tmp_path / "ViT_base_patch16_224_pretrained.pdparams")
    paddle.save(clas, pdparams)
    for path in (GOOGLE_NPZ, pdparams):
        cfg = tiny_cfg()
        cfg["backbone"].update(pretrained=path, embed_dim=24, num_heads=3, mlp_ratio=2.0)
        cfg["head"]["in_channels"] = 24
        backbone = build_model(cfg).backbone
        np.testing.assert_array_equal(backbone.blocks[1].temporal_attn.qkv.weight.numpy(),
                                      state["backbone.blocks.1.attn.qkv.weight"])
        np.testing.assert_array_equal(backbone.cls_token.numpy(), state["backbone.cls_token"])


@pytest.mark.parametrize("file_frames,model_frames", [(8, 4), (4, 6), (3, 8)])
def test_time_embedding_of_another_length_is_resized_nearest(tmp_path, file_frames, model_frames, log_text):
    weights = random_timesformer(seed=7, num_frames=file_frames)
    path = write_official_checkpoint(tmp_path / "t.pyth", weights)
    backbone = with_pretrained(path, num_seg=model_frames).backbone
    expected = weights["time_embed"][:, torch_nearest(file_frames, model_frames)]  # official load_pretrained
    np.testing.assert_array_equal(backbone.time_embed.numpy(), expected)
    np.testing.assert_array_equal(backbone.blocks[0].temporal_fc.weight.numpy(),
                                  weights["blocks.0.temporal_fc.weight"].T)
    assert f"time_embed resized (nearest) from {file_frames} to {model_frames} frames" in log_text()


@pytest.mark.parametrize("attention_type", ["space_only", "joint_space_time"])
def test_divided_checkpoint_initialises_other_attention_types(divided, attention_type, log_text):
    weights, path = divided
    backbone = with_pretrained(path, attention_type).backbone
    np.testing.assert_array_equal(backbone.blocks[1].mlp.fc1.weight.numpy(), weights["blocks.1.mlp.fc1.weight"].T)
    assert ("time_embed" in dict(backbone.named_parameters())) == (attention_type == "joint_space_time")
    assert "dropped" in log_text() and "temporal" in log_text()


def test_pretrained_of_another_resolution_and_a_wrong_architecture(image_vit):
    _, path = image_vit
    backbone = with_pretrained(path, img_size=48).backbone  # 6x6 grid from the file's 4x4 (bilinear)
    assert backbone.pos_embed.shape == [1, 37, 32]
    with pytest.raises(ConfigError, match="missing"):
        with_pretrained(path, depth=3)
