"""Attention on GPUs this machine does not have: the capability is mocked, the choices are checked.

* ``attn_impl: auto`` takes the fused path only where Paddle runs it as FlashAttention, and says so once;
* attention dropout is off in eval on both paths (the fused call gets ``dropout_p=0``);
* under AMP O1 the residual stream stays float32 (float16 patch tokens are cast up, as PyTorch autocast's
  promotion does), while O2's parameter cast keeps it float16.
"""
import numpy as np
import paddle
import paddle.nn.functional as F
import pytest
from paddle.amp.auto_cast import amp_initialize
from timesformer_helpers import tiny_cfg, video

from paddlevideo.modeling.builder import build_model
from paddlevideo.modeling.layers import Attention, attention

FP16, BF16 = paddle.float16, paddle.bfloat16


@pytest.fixture
def device(monkeypatch):
    """``device(capability)`` makes the attention layers see a GPU of that capability (None: CPU);
    the once-only log starts empty."""
    monkeypatch.setattr(attention, "_REPORTED", set())

    def set_capability(capability):
        monkeypatch.setattr(attention, "gpu_capability", lambda: capability)
    return set_capability


@pytest.mark.parametrize("capability,dtype,fused", [
    (None, FP16, False), (None, BF16, False),
    ((7, 0), FP16, False), ((7, 5), FP16, False), ((7, 5), BF16, False),  # V100, T4
    ((8, 0), FP16, True), ((8, 0), BF16, True), ((9, 0), FP16, True), ((9, 0), BF16, True)])
def test_auto_is_fused_only_where_flash_attention_runs(device, capability, dtype, fused):
    device(capability)
    assert Attention(64, 4, attn_impl="auto").use_fused(dtype) is fused  # head_dim 16
    assert Attention(64, 4, attn_impl="fused").use_fused(dtype)
    assert not Attention(64, 4, attn_impl="explicit").use_fused(dtype)


@pytest.mark.parametrize("dim,heads,fused", [(768, 12, True), (48, 4, False), (1280, 4, False)])
def test_auto_needs_a_head_size_flash_attention_takes(device, dim, heads, fused):
    device((8, 0))
    assert Attention(dim, heads, attn_impl="auto").use_fused(FP16) is fused  # head_dim 64, 12, 320


def test_auto_in_float32_never_asks_the_device(monkeypatch):
    monkeypatch.setattr(attention, "gpu_capability", lambda: pytest.fail("float32 needs no device query"))
    assert not Attention(64, 4, attn_impl="auto").use_fused(paddle.float32)


def test_the_choice_is_logged_once(device, log_lines):
    device((7, 5))
    layers = [Attention(64, 4, attn_impl="auto") for _ in range(3)]
    for _ in range(2):
        for layer in layers:
            layer.use_fused(FP16)
    assert log_lines == ["attn_impl auto: explicit attention for float16 (7.5, head_dim 16): FlashAttention "
                         "needs compute capability 8.0+ and head_dim <= 256, a multiple of 8"]
    device((8, 0))
    layers[0].use_fused(BF16)
    layers[1].use_fused(BF16)
    assert log_lines[1:] == ["attn_impl auto: fused attention (FlashAttention) for bfloat16 on compute "
                             "capability 8.0"]


def test_fused_call_gets_no_dropout_in_eval(monkeypatch):
    calls = []
    sdpa = F.scaled_dot_product_attention

    def spy(*args, **kwargs):
        calls.append((kwargs["dropout_p"], kwargs["training"]))
        return sdpa(*args, **kwargs)
    monkeypatch.setattr(F, "scaled_dot_product_attention", spy)
    layer = Attention(32, 4, attn_drop=0.5, attn_impl="fused")
    x = paddle.randn([2, 5, 32])
    layer.eval()
    layer(x)
    layer.train()
    layer(x)
    assert calls == [(0.0, False), (0.5, True)]


MODELS = {
    "tokshift": {"framework": "RecognizerTransformer",
                 "backbone": {"name": "TokenShiftVisionTransformer", "img_size": 32, "patch_size": 16,
                              "embed_dim": 64, "depth": 2, "num_heads": 4, "num_seg": 4, "shift_div": 4},
                 "head": {"name": "TokenShiftHead", "num_classes": 5, "in_channels": 64}},
    "timesformer": tiny_cfg("divided_space_time"),
}


def logits(model, clip: paddle.Tensor) -> np.ndarray:
    with paddle.no_grad():
        return model.head(model.backbone(clip)).numpy()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_attention_dropout_is_off_in_eval_on_both_paths(name):
    cfg = MODELS[name]
    cfg["backbone"]["attn_drop_rate"] = 0.5
    paddle.seed(0)
    model = build_model(cfg)
    clip = paddle.to_tensor(video(4, 32, 32))
    model.eval()
    out = {}
    for impl in ("explicit", "fused"):
        model.backbone.set_attn_impl(impl)
        out[impl] = logits(model, clip)
        np.testing.assert_array_equal(logits(model, clip), out[impl])
    np.testing.assert_allclose(out["fused"], out["explicit"], atol=1e-5)
    model.train()
    assert not np.allclose(logits(model, clip), out["fused"], atol=1e-3)  # the rate does reach the kernel


def float16_patch_tokens(backbone, monkeypatch) -> None:
    """Make the patch embedding return float16, as its conv does under AMP O1 (conv2d is white-listed)."""
    patch_forward = backbone.patch_embed.forward
    monkeypatch.setattr(backbone.patch_embed, "forward", lambda x: patch_forward(x).astype(FP16))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_o1_residual_stream_stays_float32(name, monkeypatch):
    """With float32 parameters (O1) and float16 patch tokens, everything after the patch embedding
    runs in float32 (this CPU has no float16 kernels, so a float16 stream could not even run) and
    differs from the float32 model only by the rounding of the patch tokens."""
    paddle.seed(0)
    model = build_model(MODELS[name])
    model.eval()
    clip = paddle.to_tensor(video(4, 32, 32))
    reference = logits(model, clip)
    float16_patch_tokens(model.backbone, monkeypatch)
    with paddle.no_grad():
        features = model.backbone(clip)
    assert features.dtype == paddle.float32
    np.testing.assert_allclose(model.head(features).numpy(), reference, rtol=0, atol=2e-2)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_o2_casts_the_embeddings_the_stream_takes_its_dtype_from(name):
    """``decorate(level='O2')`` casts the backbone's own parameters, so the embedding's cast to
    ``pos_embed.dtype`` keeps O2's stream in float16 (LayerNorm weights stay float32, as Paddle keeps them)."""
    model = build_model(MODELS[name])
    amp_initialize([model], "float16", None)  # what decorate(level="O2") runs on a GPU
    backbone = model.backbone
    embeddings = [backbone.cls_token, backbone.pos_embed] + ([backbone.time_embed] if name == "timesformer" else [])
    assert all(p.dtype == FP16 for p in embeddings)
    assert backbone.norm.weight.dtype == paddle.float32
