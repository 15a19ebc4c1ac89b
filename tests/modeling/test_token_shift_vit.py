"""Behaviour of the TokShift backbone, its token shift and the recognizer built around it."""
import numpy as np
import paddle
import pytest

from paddlevideo.errors import ConfigError
from paddlevideo.modeling.builder import build_model
from paddlevideo.modeling.layers import TokenShift, token_shift
from paddlevideo.modeling.layers.fast_paths import reference_kernels

PADDLEVIDEO_NAMES = [
    "backbone.cls_token", "backbone.pos_embed", "backbone.patch_embed.proj.weight",
    "backbone.patch_embed.proj.bias", "backbone.norm.weight", "backbone.norm.bias",
    "head.fc.weight", "head.fc.bias",
] + [f"backbone.blocks.{i}.{layer}.{p}" for i in range(2)
     for layer in ("norm1", "attn.qkv", "attn.proj", "norm2", "mlp.fc1", "mlp.fc2") for p in ("weight", "bias")]


def literal_shift(x: np.ndarray, num_seg: int, shift_div: int) -> np.ndarray:
    """The definition, element by element: only token 0, zero fill at the ends, no wrap."""
    bt, _, c = x.shape
    fold = c // shift_div
    out = x.copy()
    for row in range(bt):
        b, t = divmod(row, num_seg)
        for ch in range(c):
            if ch < fold:
                out[row, 0, ch] = x[b * num_seg + t + 1, 0, ch] if t + 1 < num_seg else 0.0
            elif ch < 2 * fold:
                out[row, 0, ch] = x[b * num_seg + t - 1, 0, ch] if t > 0 else 0.0
    return out


def buffer_shift(x: paddle.Tensor, num_seg: int, shift_div: int) -> paddle.Tensor:
    """PaddleVideo's style (zeros buffer + slice writes): same values, slower; used to compare grads."""
    c = x.shape[2]
    fold = c // shift_div
    cls = x[:, :1].reshape([-1, num_seg, 1, c])
    out = paddle.zeros_like(cls)
    out[:, :-1, :, :fold] = cls[:, 1:, :, :fold]
    out[:, 1:, :, fold:2 * fold] = cls[:, :-1, :, fold:2 * fold]
    out[:, :, :, 2 * fold:] = cls[:, :, :, 2 * fold:]
    return paddle.concat([out.reshape([-1, 1, c]), x[:, 1:]], axis=1)


def test_token_shift_matches_literal_definition():
    x = np.arange(2 * 4 * 3 * 8, dtype=np.float32).reshape(8, 3, 8) + 1.0  # B=2, T=4, N=3, C=8
    out = token_shift(paddle.to_tensor(x), num_seg=4, shift_div=4).numpy()
    np.testing.assert_array_equal(out, literal_shift(x, 4, 4))
    assert out[3, 0, 0] == 0 and out[4, 0, 2] == 0  # last frame's "next", first frame's "previous"
    np.testing.assert_array_equal(out[:, 1:], x[:, 1:])


def test_token_shift_gradient_equals_buffer_version():
    x1 = paddle.randn([6, 5, 16])
    x1.stop_gradient = False
    x2 = x1.detach()
    x2.stop_gradient = False
    weight = paddle.randn([6, 5, 16])
    (token_shift(x1, 3, 8) * weight).sum().backward()
    (buffer_shift(x2, 3, 8) * weight).sum().backward()
    np.testing.assert_allclose(x1.grad.numpy(), x2.grad.numpy(), rtol=0, atol=0)


def shift_and_grad(overwrite):
    """Shift ``2*x`` (a tensor the shift may own), then the output and ``x``'s gradient."""
    x = paddle.to_tensor(np.random.default_rng(0).standard_normal((6, 5, 16)).astype("float32"))
    x.stop_gradient = False
    weight = paddle.to_tensor(np.random.default_rng(1).standard_normal((6, 5, 16)).astype("float32"))
    out = token_shift(x * 2.0, 3, 8, overwrite=overwrite)
    (out * weight).sum().backward()
    return out.numpy(), x.grad.numpy()


def test_overwriting_shift_equals_concatenating_shift():
    """The eager fast path writes the class tokens into its input: same values and gradient."""
    for got, want in zip(shift_and_grad(True), shift_and_grad(False)):
        np.testing.assert_array_equal(got, want)


def test_overwrite_writes_into_the_input_only_on_the_fast_path():
    x = paddle.randn([6, 5, 16])
    assert token_shift(x, 3, 8, overwrite=True) is x
    with reference_kernels():
        y = paddle.randn([6, 5, 16])
        before = y.numpy()
        assert token_shift(y, 3, 8, overwrite=True) is not y
        np.testing.assert_array_equal(y.numpy(), before)


def test_model_input_is_left_unchanged(tiny_model_cfg):
    """The blocks overwrite only the backbone's own residual stream, never the caller's tensors."""
    model = build_model(tiny_model_cfg)
    model.eval()
    video = paddle.randn([2, 3, 4, 32, 32])
    before = video.numpy()
    block_input = paddle.randn([8, 5, 64])
    block_before = block_input.numpy()
    with paddle.no_grad():
        model([video], mode="infer")
        model.backbone.blocks[0](block_input, 4)
    np.testing.assert_array_equal(video.numpy(), before)
    np.testing.assert_array_equal(block_input.numpy(), block_before)


def test_state_dict_names_match_paddlevideo(tiny_model_cfg):
    names = set(build_model(tiny_model_cfg).state_dict())
    assert names == set(PADDLEVIDEO_NAMES)


def test_shift_layers_and_baseline(tiny_model_cfg):
    model = build_model(tiny_model_cfg)
    assert sum(isinstance(layer, TokenShift) for layer in model.sublayers()) == 2
    tiny_model_cfg["backbone"]["shift_div"] = 0
    assert not any(isinstance(layer, TokenShift) for layer in build_model(tiny_model_cfg).sublayers())


@pytest.mark.parametrize("shift_div,order_blind", [(0, True), (4, False)])
def test_frame_order_sensitivity(tiny_model_cfg, shift_div, order_blind):
    """The ViT baseline cannot tell a clip from its reversal; TokShift can."""
    tiny_model_cfg["backbone"]["shift_div"] = shift_div
    model = build_model(tiny_model_cfg)
    model.eval()
    x = paddle.randn([2, 3, 4, 32, 32])
    same = np.allclose(model([x]).numpy(), model([x.flip(axis=2)]).numpy(), atol=1e-5)
    assert same == order_blind


def test_fused_attention_matches_explicit(tiny_model_cfg):
    model = build_model(tiny_model_cfg)
    model.eval()
    x = paddle.randn([2, 3, 4, 32, 32])
    model.backbone.set_attn_impl("explicit")
    explicit = model([x]).numpy()
    model.backbone.set_attn_impl("fused")
    np.testing.assert_allclose(model([x]).numpy(), explicit, atol=1e-5)
    with pytest.raises(ValueError, match="attn_impl"):
        model.backbone.set_attn_impl("flash")


def test_every_parameter_gets_a_gradient(tiny_model_cfg):
    tiny_model_cfg["backbone"]["drop_path_rate"] = 0.1
    model = build_model(tiny_model_cfg)
    out = model([paddle.randn([2, 3, 4, 32, 32]), paddle.to_tensor([1, 3])], mode="train")
    assert set(out) == {"loss", "top1", "top5"}
    out["loss"].backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


def test_init_scales(tiny_model_cfg):
    model = build_model(tiny_model_cfg)
    qkv = model.backbone.blocks[0].attn.qkv
    assert 0.015 < float(qkv.weight.std()) < 0.025
    assert float(qkv.bias.abs().max()) == 0.0
    assert float(model.backbone.blocks[0].norm1.weight.min()) == 1.0
    assert model.backbone.norm._epsilon == 1e-6


def test_modes_and_multi_view_averaging(tiny_model_cfg):
    model = build_model(tiny_model_cfg)
    model.eval()
    views = [paddle.randn([2, 3, 4, 32, 32]) for _ in range(3)]
    stacked = paddle.concat(views, axis=2)  # [B, 3, V*T, H, W]
    separate = np.mean([model([v], mode="infer").numpy() for v in views], axis=0)
    np.testing.assert_allclose(model([stacked], mode="test").numpy(), separate, atol=1e-5)
    assert model([stacked], mode="infer").shape == [2, 5]
    val = model([stacked, paddle.to_tensor([0, 4])], mode="valid")
    assert set(val) == {"loss", "top1", "top5"}
    with pytest.raises(ValueError, match="mode"):
        model([stacked], mode="predict")
    with pytest.raises(ValueError, match="num_seg"):
        model([paddle.randn([1, 3, 6, 32, 32])])


def test_top5_with_fewer_than_five_classes(tiny_model_cfg):
    tiny_model_cfg["head"]["num_classes"] = 3
    model = build_model(tiny_model_cfg)
    out = model([paddle.randn([2, 3, 4, 32, 32]), paddle.to_tensor([0, 2])], mode="train")
    assert float(out["top5"]) == 1.0


@pytest.mark.parametrize("section,key,value,message", [
    ("backbone", "dpeth", 2, "Did you mean \\['depth'\\]"),
    ("backbone", "depth", "two", "expects int"),
    ("backbone", "shift_div", 1, "shift_div"),
    ("backbone", "num_heads", 5, "divisible"),
    ("head", "num_class", 5, "num_classes"),
    ("backbone", "name", "TokenShiftViT", "Unknown backbone"),
])
def test_bad_model_config_is_a_clear_error(tiny_model_cfg, section, key, value, message):
    tiny_model_cfg[section][key] = value
    with pytest.raises(ConfigError, match=message):
        build_model(tiny_model_cfg)


def test_drop_path_keeps_dtype():
    from paddlevideo.modeling.layers import DropPath
    layer = DropPath(0.5)
    layer.train()
    out = layer(paddle.ones([8, 3, 4]))
    assert out.dtype == paddle.float32
    assert set(np.unique(out.numpy())) <= {0.0, 2.0}


def test_head_std_zero_gives_zero_classifier(tiny_model_cfg):
    tiny_model_cfg["head"]["std"] = 0.0
    model = build_model(tiny_model_cfg)
    assert float(model.head.fc.weight.abs().max()) == 0.0
    logits = model([paddle.randn([1, 3, 4, 32, 32])]).numpy()
    np.testing.assert_array_equal(logits, np.zeros_like(logits))


@pytest.mark.parametrize("attn_impl", ["explicit", "fused"])
def test_class_token_only_block_is_exact(tiny_model_cfg, attn_impl):
    """The last block computes only the class token; it must equal the full block's token 0."""
    model = build_model(tiny_model_cfg)
    model.eval()
    model.backbone.set_attn_impl(attn_impl)
    block = model.backbone.blocks[-1]
    x = paddle.randn([8, 5, 64])
    full = block(x, 4)
    np.testing.assert_allclose(block(x, 4, cls_only=True).numpy(), full[:, :1].numpy(), atol=1e-6)
    assert block(x, 4, cls_only=True).shape == [8, 1, 64]
