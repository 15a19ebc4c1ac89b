"""The video-ViT family (``backbones/video_vit.py``): state-dict names unchanged from PaddleVideo's,
layers reached through their sublayers (hooks and wrappers see them), one block skeleton to plug into."""
import json
import os

import numpy as np
import paddle
import paddle.nn as nn
import pytest

import paddlevideo.modeling  # noqa: F401  (registration)
from paddlevideo.modeling.backbones import TokenShiftVisionTransformer, VideoVisionTransformer, VisionTransformer
from paddlevideo.modeling.backbones.video_vit import JointSpaceTimeBlock, SpaceOnlyBlock
from paddlevideo.modeling.builder import build_backbone
from paddlevideo.modeling.layers import Linear
from paddlevideo.modeling.layers.fast_paths import reference_kernels
from paddlevideo.modeling.weight_init import init_vit_layer

# Recorded from the code before the family existed (separate TokShift and TimeSformer classes): the
# names, order and shapes that PaddleVideo checkpoints, the converters and exported models rely on.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "state_dicts.json")) as f:
    RECORDED = json.load(f)

TINY = dict(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, num_seg=4)
STTS = {"temporal": {"block": 0, "keep": 0.5}, "spatial": {"block": 1, "keep": 0.5}}
BACKBONES = {
    "tokshift": lambda: TokenShiftVisionTransformer(**TINY),
    "tokshift_stts": lambda: TokenShiftVisionTransformer(**TINY, token_selection=STTS),
    "divided_space_time": lambda: VisionTransformer(**TINY),
    "space_only": lambda: VisionTransformer(**TINY, attention_type="space_only"),
    "joint_space_time": lambda: VisionTransformer(**TINY, attention_type="joint_space_time"),
    "timesformer_stts": lambda: VisionTransformer(**TINY, token_selection=STTS),
}


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_state_dict_keys_and_shapes_are_the_recorded_ones(name):
    backbone = build_backbone(dict(RECORDED[name]["config"]))
    got = [[key, list(value.shape)] for key, value in backbone.state_dict().items()]
    assert got == RECORDED[name]["state_dict"]


def built(name, training):
    paddle.seed(0)
    backbone = BACKBONES[name]()
    backbone.init_weights()
    backbone.train() if training else backbone.eval()
    return backbone


@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_forward_hooks_on_qkv_and_fc1_fire(name, training):
    """A forward_post_hook on ``blocks[0].attn.qkv`` and ``blocks[0].mlp.fc1`` sees every call with the
    layer's output (eager CPU, where the fast kernels run, and inside ``reference_kernels``), and the
    output a hook returns is the one the model uses."""
    backbone = built(name, training)
    seen = []
    for path in ("attn.qkv", "mlp.fc1"):
        layer = backbone.blocks[0]
        for part in path.split("."):
            layer = getattr(layer, part)
        layer.register_forward_post_hook(
            lambda layer, inputs, output, path=path: seen.append((path, output.shape[-1])))
    x = paddle.randn([2, 3, 4, 32, 32])
    out = backbone(x)
    assert ("attn.qkv", 96) in seen and ("mlp.fc1", 128) in seen
    calls = len(seen)
    with reference_kernels():
        backbone(x)
    assert len(seen) == 2 * calls
    backbone.blocks[0].mlp.fc1.register_forward_post_hook(lambda layer, inputs, output: output * 0.0)
    assert not np.allclose(backbone(x).numpy(), out.numpy())


@pytest.mark.parametrize("name", ["tokshift", "divided_space_time"])
def test_a_wrapper_replacing_qkv_is_called(name):
    """What a quantisation wrapper does: replace the layer; the model then runs the replacement."""

    class Counting(nn.Layer):
        def __init__(self, inner):
            super().__init__()
            self.inner, self.calls = inner, 0

        def forward(self, x):
            self.calls += 1
            return self.inner(x)

    backbone = built(name, training=False)
    x = paddle.randn([2, 3, 4, 32, 32])
    expected = backbone(x).numpy()
    backbone.blocks[0].attn.qkv = Counting(backbone.blocks[0].attn.qkv)
    np.testing.assert_array_equal(backbone(x).numpy(), expected)
    assert backbone.blocks[0].attn.qkv.calls >= 1


def test_fast_linear_is_an_nn_linear_with_its_names():
    layer = Linear(8, 12)
    assert isinstance(layer, nn.Linear)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert layer.weight.name.startswith("linear_")  # Paddle's auto names, which optimizer states map from
    x = paddle.randn([3, 5, 8])
    reference = nn.Linear(8, 12)
    reference.set_state_dict(layer.state_dict())
    np.testing.assert_allclose(layer(x).numpy(), reference(x).numpy(), rtol=1e-6, atol=1e-6)
    with reference_kernels():
        np.testing.assert_array_equal(layer(x).numpy(), reference(x).numpy())


def test_the_two_initialisations_are_parameters_of_one_function():
    """TokShift: conv LeCun normal with zero bias; TimeSformer: PyTorch's conv default (non-zero bias)."""
    tokshift, timesformer = built("tokshift", False), built("divided_space_time", False)
    assert (tokshift.conv_init, tokshift.trunc_bound) == ("lecun_normal", None)
    assert (timesformer.conv_init, timesformer.trunc_bound) == ("torch_default", 2.0)
    assert not tokshift.patch_embed.proj.bias.numpy().any()
    assert timesformer.patch_embed.proj.bias.numpy().any()
    with pytest.raises(ValueError, match="conv_init"):
        init_vit_layer(nn.Conv2D(3, 4, 2), conv_init="xavier")


def test_block_classes_follow_the_attention():
    assert all(type(b).__name__ == "TokenShiftBlock" for b in built("tokshift", False).blocks)
    assert all(type(b) is SpaceOnlyBlock for b in TokenShiftVisionTransformer(**TINY, shift_div=0).blocks)
    assert all(type(b).__name__ == "DividedSpaceTimeBlock" for b in built("divided_space_time", False).blocks)
    assert all(type(b) is JointSpaceTimeBlock for b in built("joint_space_time", False).blocks)


@pytest.mark.parametrize("block_fn,tokens", [(SpaceOnlyBlock, 2 * 4), (JointSpaceTimeBlock, 2)])
def test_the_family_runs_any_block(block_fn, tokens):
    """A video ViT is the family with a block: the class tokens after the last block come back in the
    block's layout (one per frame, or one per clip)."""
    backbone = VideoVisionTransformer(
        block_fn=block_fn, **TINY, in_channels=3, mlp_ratio=4.0, qkv_bias=True, drop_rate=0.0, attn_drop_rate=0.0,
        drop_path_rate=0.0, epsilon=1e-6, attn_impl="explicit", trunc_bound=None, conv_init="lecun_normal",
        pretrained=None, recompute=False, token_selection=None, per_clip_window=False)
    backbone.init_weights()
    x, frames = backbone.forward_blocks(paddle.randn([2, 3, 4, 32, 32]))
    assert x.shape == [tokens, 1, 32] and frames == 4
    assert (backbone.time_embed is None) == block_fn.tokens_per_frame


def test_tokshift_takes_only_its_img_size():
    """TokShift's position grid is learned for ``img_size`` (resampled bilinearly when loading weights,
    never nearest at run time), so another frame size is an error rather than a silent resize."""
    backbone = built("tokshift", training=False)
    with pytest.raises(ValueError, match="img_size"):
        backbone(paddle.randn([1, 3, 4, 48, 32]))
