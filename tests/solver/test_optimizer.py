"""Optimizers built from OPTIMIZER: weight-decay groups, gradient clipping, config errors."""
import numpy as np
import paddle
import pytest

from paddlevideo.errors import ConfigError
from paddlevideo.modeling.builder import build_model
from paddlevideo.solver import build_optimizer


def test_adamw_skips_decay_on_norms_biases_and_embeddings(tiny_model_cfg):
    model = build_model(tiny_model_cfg)
    opt, _ = build_optimizer({"name": "AdamW", "learning_rate": 1e-3, "weight_decay": 0.1}, model, 1, 1)
    decayed = {n for n, p in model.named_parameters() if opt._apply_decay_param_fun(p.name)}
    assert "backbone.blocks.0.attn.qkv.weight" in decayed
    assert not decayed & {"backbone.pos_embed", "backbone.cls_token", "backbone.blocks.0.norm1.weight",
                          "backbone.blocks.0.attn.qkv.bias", "backbone.norm.weight"}


def test_adamw_skips_decay_on_timesformer_time_embedding_and_temporal_norm():
    """The official TimeSformer's ``no_weight_decay``: pos_embed, cls_token, time_embed."""
    model = build_model({"framework": "RecognizerTransformer",
                         "backbone": {"name": "VisionTransformer", "img_size": 32, "patch_size": 8, "embed_dim": 32,
                                      "depth": 1, "num_heads": 4, "num_seg": 4},
                         "head": {"name": "TimeSformerHead", "num_classes": 3, "in_channels": 32}})
    opt, _ = build_optimizer({"name": "AdamW", "learning_rate": 1e-3, "weight_decay": 0.1}, model, 1, 1)
    decayed = {n for n, p in model.named_parameters() if opt._apply_decay_param_fun(p.name)}
    assert {"backbone.blocks.0.temporal_attn.qkv.weight", "backbone.blocks.0.temporal_fc.weight"} <= decayed
    assert not decayed & {"backbone.time_embed", "backbone.blocks.0.temporal_norm1.weight"}


def test_grad_clip_bounds_the_update(tiny_model_cfg):
    model = build_model(tiny_model_cfg)
    cfg = {"name": "Momentum", "momentum": 0.0, "learning_rate": 1.0,
           "grad_clip": {"name": "global", "value": 1e-3}}
    opt, _ = build_optimizer(cfg, model, 1, 1)
    before = {n: p.numpy().copy() for n, p in model.named_parameters()}
    out = model([paddle.randn([2, 3, 4, 32, 32]) * 10, paddle.to_tensor([0, 1])], mode="train")
    (out["loss"] * 1000).backward()
    opt.step()
    step = np.sqrt(sum(((p.numpy() - before[n]) ** 2).sum() for n, p in model.named_parameters()))
    assert step == pytest.approx(1e-3, rel=1e-3)


@pytest.mark.parametrize("cfg,message", [
    ({"name": "Momentum", "learning_rate": 0.1, "grad_clip": {"name": "value", "value": 1}}, "grad_clip"),
    ({"name": "Momentum", "learning_rate": 0.1, "weight_decay": {"name": "L1", "value": 1}}, "weight_decay"),
    ({"name": "Momentum"}, "learning_rate"),
    ({"name": "Momentum", "learning_rate": {"name": "MultiStepDecay", "learning_rate": 0.1,
                                            "milestones": [5, 2]}}, "increasing"),
])
def test_bad_optimizer_config(tiny_model_cfg, cfg, message):
    with pytest.raises(ConfigError, match=message):
        build_optimizer(cfg, build_model(tiny_model_cfg), 1, 1)
