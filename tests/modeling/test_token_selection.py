"""STTS token selection: top-K on constructed scores, the perturbed top-K and its gradient, selection
inside tiny TokShift and TimeSformer backbones (keep 1.0 exact, gradients, batches), configuration errors."""
import math

import numpy as np
import paddle
import paddle.nn as nn
import pytest

import paddlevideo.modeling  # noqa: F401  (registration)
from paddlevideo.errors import ConfigError
from paddlevideo.modeling.backbones import TokenShiftVisionTransformer, VisionTransformer
from paddlevideo.modeling.builder import build_backbone
from paddlevideo.modeling.token_selection import (
    SpatialSelection,
    TemporalSelection,
    hard_topk_indicators,
    hard_topk_indices,
    perturbed_topk,
    set_training_progress,
    window_side,
    window_table,
)

TINY = dict(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, num_seg=4)  # 4x4 patch grid
BOTH = {"temporal": {"block": 0, "keep": 0.5}, "spatial": {"block": 1, "keep": 0.5}}
BACKBONES = [TokenShiftVisionTransformer, VisionTransformer]


class FirstChannel(nn.Layer):
    """A stand-in scorer: a token's score is its channel 0, so tests construct the scores."""

    def forward(self, x):
        return x[:, :, 0]


def constructed(selection, training=False):
    selection.scorer = FirstChannel()
    selection.train() if training else selection.eval()
    return selection


# ------------------------------------------------------------------------------------------ top-K
def test_hard_topk_returns_the_best_positions_in_original_order():
    scores = paddle.to_tensor([[0.1, 0.9, 0.3, 0.8, 0.0], [5.0, -1.0, 4.0, 0.0, 6.0]])
    assert hard_topk_indices(scores, 3).numpy().tolist() == [[1, 2, 3], [0, 2, 4]]
    onehot = hard_topk_indicators(scores, 2).numpy()
    assert onehot.shape == (2, 2, 5)
    np.testing.assert_array_equal(onehot.argmax(-1), [[1, 3], [0, 4]])


def test_perturbed_topk_converges_to_the_hard_selection_as_sigma_shrinks():
    paddle.seed(0)
    scores = paddle.to_tensor([[0.0, 0.6, 0.35, 1.0, 0.3, 0.5]])
    hard = hard_topk_indicators(scores, 3).numpy()
    errors = [np.abs(perturbed_topk(scores, 3, sigma, 500).numpy() - hard).max() for sigma in (0.3, 0.1, 0.05, 1e-3)]
    assert errors[0] > errors[1] > errors[2] > 0.0  # soft while sigma is comparable to the score gaps
    assert errors[-1] == 0.0  # every sample picks the same set once sigma is far below the gaps
    np.testing.assert_array_equal(perturbed_topk(scores, 3, 0.0, 500).numpy(), hard)  # the schedule's end
    soft = perturbed_topk(scores, 3, 0.3, 500).numpy()
    np.testing.assert_allclose(soft.sum(-1), 1.0, atol=1e-6)  # each row is a distribution over positions


def test_perturbed_topk_gradient_matches_the_gaussian_smoothed_indicator():
    """Two positions, k = 1: P(pick 0) = Phi((s0 - s1) / (sigma sqrt 2)), whose derivative is known."""
    paddle.seed(1)
    sigma, gap = 0.2, 0.1
    scores = paddle.to_tensor([[gap, 0.0]], stop_gradient=False)
    prob = perturbed_topk(scores, 1, sigma, 40000)[0, 0, 0]
    prob.backward()
    z = gap / (sigma * math.sqrt(2))
    expected_prob = 0.5 * (1 + math.erf(z / math.sqrt(2)))
    expected_grad = math.exp(-z * z / 2) / math.sqrt(2 * math.pi) / (sigma * math.sqrt(2))
    assert abs(float(prob) - expected_prob) < 0.01
    grad = scores.grad.numpy()[0]
    assert abs(grad[0] - expected_grad) < 0.1 * expected_grad and abs(grad[1] + expected_grad) < 0.1 * expected_grad


# ------------------------------------------------------------------------------------------ temporal
def frames_with_scores(frame_scores, tokens=3, channels=4, num_prefix=1):
    """``[B, T, num_prefix + tokens, C]`` whose patch tokens score ``frame_scores[b][t]`` (channel 0)
    and carry their (b, t) in channels 1 and 2."""
    b, t = len(frame_scores), len(frame_scores[0])
    x = np.zeros((b, t, num_prefix + tokens, channels), np.float32)
    x[:, :, num_prefix:, 0] = np.asarray(frame_scores, np.float32)[:, :, None]
    x[:, :, :, 1] = np.arange(b)[:, None, None]
    x[:, :, :, 2] = np.arange(t)[None, :, None]
    x[:, :, :num_prefix, 3] = 7.0  # class tokens
    return x


def test_temporal_selection_keeps_the_best_frames_in_order_per_video():
    scores = [[0.1, 0.9, 0.2, 0.8, 0.0, 0.3], [0.7, 0.0, 0.1, 0.2, 0.6, 0.5]]
    x = frames_with_scores(scores)
    sel = constructed(TemporalSelection(4, block=0, keep=0.5, sigma=0.1, num_samples=500))
    out = sel(paddle.to_tensor(x), num_prefix=1).numpy()
    assert out.shape == (2, 3, 4, 4)
    kept = out[:, :, 0, 2]  # frame index of every kept frame
    np.testing.assert_array_equal(kept, [[1, 3, 5], [0, 4, 5]])  # different frames per video, in order
    np.testing.assert_array_equal(out[:, :, 0, 1], [[0] * 3, [1] * 3])
    np.testing.assert_array_equal(out, np.take_along_axis(x, kept.astype(np.int64)[:, :, None, None], axis=1))


def test_temporal_soft_selection_approaches_hard_as_sigma_decays():
    paddle.seed(0)
    x = paddle.to_tensor(frames_with_scores([[0.1, 0.9, 0.2, 0.8], [0.7, 0.0, 0.1, 0.6]]))
    sel = constructed(TemporalSelection(4, block=0, keep=0.5, sigma=0.5, num_samples=500))
    hard = sel(x, 1).numpy()
    sel.train()
    far = np.abs(sel(x, 1).numpy() - hard).max()
    sel.set_progress(0.999)  # sigma 0.0005, far below the normalised score gaps
    near = np.abs(sel(x, 1).numpy() - hard).max()
    sel.set_progress(1.0)
    assert sel.sigma == 0.0 and far > 0.05 and near == 0.0
    np.testing.assert_array_equal(sel(x, 1).numpy(), hard)


# ------------------------------------------------------------------------------------------ spatial
def grid_tokens(score_maps, num_prefix=1, channels=4):
    """``[B, T, num_prefix + g*g, C]``: patch tokens score ``score_maps[b, t]`` (row-major) and carry
    their patch index in channel 1."""
    maps = np.asarray(score_maps, np.float32)
    b, t, g = maps.shape[0], maps.shape[1], maps.shape[2]
    x = np.zeros((b, t, num_prefix + g * g, channels), np.float32)
    x[:, :, num_prefix:, 0] = maps.reshape(b, t, g * g)
    x[:, :, num_prefix:, 1] = np.arange(g * g)
    x[:, :, :num_prefix, 2] = 5.0
    return x


def hot_window(g, top, left, size=3, value=1.0):
    m = np.zeros((g, g), np.float32)
    m[top:top + size, left:left + size] = value
    return m


def test_window_table_and_sizes():
    assert window_side(14, 0.7) == 12 and window_side(4, 0.5) == 3 and window_side(4, 1.0) == 4
    table = window_table((4, 4), (3, 3))
    assert table.shape == (4, 9)
    np.testing.assert_array_equal(table[0], [0, 1, 2, 4, 5, 6, 8, 9, 10])
    np.testing.assert_array_equal(table[3], [5, 6, 7, 9, 10, 11, 13, 14, 15])


def test_spatial_selection_keeps_the_best_window_per_frame():
    maps = [[hot_window(4, 0, 0), hot_window(4, 1, 1)], [hot_window(4, 0, 1), hot_window(4, 1, 0)]]
    x = grid_tokens(maps)
    sel = constructed(SpatialSelection(4, block=0, keep=0.5, sigma=0.1, num_samples=500, per_clip=False))
    out = sel(paddle.to_tensor(x), 1, (4, 4)).numpy()
    assert out.shape == (2, 2, 10, 4)
    np.testing.assert_array_equal(out[:, :, 0, 2], 5.0)  # class token first, always kept
    table = window_table((4, 4), (3, 3))
    for b, anchors in enumerate([[0, 3], [1, 2]]):
        for t, anchor in enumerate(anchors):
            np.testing.assert_array_equal(out[b, t, 1:, 1], table[anchor])


def test_spatial_selection_per_clip_keeps_one_window_for_all_frames():
    # frame 0 slightly prefers the bottom-right window, frames 1 and 2 clearly the top-left one
    maps = [[hot_window(4, 1, 1, value=1.2), hot_window(4, 0, 0), hot_window(4, 0, 0)],
            [hot_window(4, 0, 1), hot_window(4, 0, 1), hot_window(4, 1, 1, value=1.5)]]
    x = grid_tokens(maps, num_prefix=0)
    sel = constructed(SpatialSelection(4, block=0, keep=0.5, sigma=0.1, num_samples=500, per_clip=True))
    out = sel(paddle.to_tensor(x), 0, (4, 4)).numpy()
    table = window_table((4, 4), (3, 3))
    assert out.shape == (2, 3, 9, 4)
    for b, anchor in enumerate([0, 1]):
        for t in range(3):
            np.testing.assert_array_equal(out[b, t, :, 1], table[anchor])


def test_spatial_soft_selection_becomes_the_hard_window():
    paddle.seed(0)
    x = paddle.to_tensor(grid_tokens([[hot_window(4, 1, 0)], [hot_window(4, 0, 1)]]))
    sel = constructed(SpatialSelection(4, block=0, keep=0.5, sigma=0.1, num_samples=500, per_clip=False))
    hard = sel(x, 1, (4, 4)).numpy()
    sel.train()
    sel.set_progress(0.999)
    np.testing.assert_allclose(sel(x, 1, (4, 4)).numpy(), hard, atol=1e-6)


# ------------------------------------------------------------------------------------------ backbones
def pair(cls, selection, seed=0):
    """A backbone without and one with ``selection``, same weights (the scorers at their init)."""
    paddle.seed(seed)
    full = cls(**TINY)
    full.init_weights()
    selecting = cls(**TINY, token_selection=selection)
    selecting.init_weights()
    state = full.state_dict()
    for name, value in selecting.state_dict().items():
        if name.startswith("token_selection."):
            state[name] = value
    selecting.set_state_dict(state)
    return full, selecting


@pytest.mark.parametrize("cls", BACKBONES, ids=lambda c: c.__name__)
def test_keep_one_reproduces_the_full_model_exactly(cls):
    keep_all = {"temporal": {"block": 0, "keep": 1.0}, "spatial": {"block": 1, "keep": 1.0}}
    full, selecting = pair(cls, keep_all)
    x = paddle.randn([2, 3, 4, 32, 32])
    for training in (False, True):
        full.train() if training else full.eval()
        selecting.train() if training else selecting.eval()
        np.testing.assert_array_equal(selecting(x).numpy(), full(x).numpy())


@pytest.mark.parametrize("cls", BACKBONES, ids=lambda c: c.__name__)
def test_gradients_reach_both_scorers_in_training(cls):
    _, model = pair(cls, BOTH)
    model.train()
    out = model(paddle.randn([2, 3, 4, 32, 32]))
    (out * paddle.randn(out.shape)).sum().backward()
    for kind in ("temporal", "spatial"):
        for name, param in getattr(model.token_selection, kind).named_parameters():
            if name == "scorer.out_conv.4.bias":
                continue  # adds the same to every score, which min-max normalisation cancels (as in STTS)
            assert param.grad is not None and float(param.grad.abs().sum()) > 0, f"{kind} {name}"


def test_tokshift_blocks_shift_over_the_kept_frames():
    model = TokenShiftVisionTransformer(**dict(TINY, num_seg=8, depth=3),
                                        token_selection={"temporal": {"block": 1, "keep": 0.5}})
    assert [block.shift.num_seg for block in model.blocks] == [8, 4, 4]
    model.init_weights()
    model.eval()
    assert model(paddle.randn([2, 3, 8, 32, 32])).shape == [2, 4, 32]  # kept frames' class tokens


def test_tokshift_selection_follows_the_scores_per_video():
    """Batch of 2 with a constructed temporal scorer: each video keeps its own best frames, and the
    result equals the full network run on exactly those frames' embedded tokens."""
    model = TokenShiftVisionTransformer(**TINY, shift_div=4, token_selection={"temporal": {"block": 0, "keep": 0.5}})
    model.init_weights()
    model.eval()
    constructed(model.token_selection.temporal)
    paddle.seed(3)
    clip = paddle.randn([1, 3, 4, 32, 32])
    x = paddle.concat([clip, clip.flip(axis=2)])  # the second video is the first one reversed in time
    tokens = {}
    model.blocks[0].register_forward_pre_hook(lambda layer, inputs: tokens.update({"in": inputs[0].numpy()}))
    model(x)
    # reproduce the embedding and the choice by hand
    emb = model.patch_embed(x.transpose([0, 2, 1, 3, 4]).reshape([-1, 3, 32, 32]))
    emb = paddle.concat([model.cls_token.expand([8, -1, -1]), emb], axis=1) + model.pos_embed
    emb = emb.numpy().reshape(2, 4, 17, 32)
    best = np.sort(np.argsort(-emb[:, :, 1:, 0].mean(-1), axis=1)[:, :2], axis=1)
    assert (best[0] != best[1]).any()  # the two videos keep different frames
    np.testing.assert_allclose(tokens["in"].reshape(2, 2, 17, 32),
                               np.take_along_axis(emb, best[:, :, None, None], axis=1), rtol=1e-5, atol=1e-6)


def test_timesformer_spatial_window_is_shared_by_the_frames_of_a_clip():
    model = VisionTransformer(**TINY, token_selection={"spatial": {"block": 1, "keep": 0.5}})
    model.init_weights()
    model.eval()
    sel = model.token_selection.spatial
    assert sel.per_clip
    seen = {}
    model.blocks[1].register_forward_pre_hook(lambda layer, inputs: seen.update({"x": inputs[0].numpy()}))
    assert model(paddle.randn([3, 3, 4, 32, 32])).shape == [3, 32]
    assert seen["x"].shape == (3, 1 + 9 * 4, 32)  # 3x3 window in all 4 frames + the class token


@pytest.mark.parametrize("attention_type", ["joint_space_time", "space_only"])
def test_timesformer_other_attention_types_select(attention_type):
    model = VisionTransformer(**TINY, attention_type=attention_type, token_selection=BOTH)
    model.init_weights()
    model.eval()
    assert model(paddle.randn([2, 3, 4, 32, 32])).shape == [2, 32]
    model.train()
    model(paddle.randn([2, 3, 4, 32, 32])).sum().backward()


def test_training_progress_sets_sigma_linearly():
    model = TokenShiftVisionTransformer(**TINY, token_selection=BOTH)
    set_training_progress(model, 0.25)
    assert model.token_selection.temporal.sigma == pytest.approx(0.075)
    assert model.token_selection.spatial.sigma == pytest.approx(0.075)
    set_training_progress(model, 1.0)
    assert model.token_selection.temporal.sigma == 0.0
    with pytest.raises(ValueError, match="progress"):
        set_training_progress(model, 1.5)


def test_plain_backbone_has_no_selection_parameters():
    names = [n for n, _ in TokenShiftVisionTransformer(**TINY).named_parameters()]
    assert not [n for n in names if "token_selection" in n]
    selecting = TokenShiftVisionTransformer(**TINY, token_selection=BOTH)
    extra = {n for n, _ in selecting.named_parameters()} - set(names)
    assert extra and all(n.startswith("token_selection.temporal.scorer.")
                         or n.startswith("token_selection.spatial.scorer.") for n in extra)


@pytest.mark.parametrize("selection, message", [
    ({"temporl": {"block": 0, "keep": 0.5}}, "unknown key 'temporl'"),
    ({"temporal": {"block": 0, "kep": 0.5}}, "unknown key 'kep'"),
    ({"temporal": {"block": 2, "keep": 0.5}}, "block must be in"),
    ({"spatial": {"block": 0, "keep": 0.0}}, "keep must be in"),
    ({"spatial": {"block": 0, "keep": 0.5, "sigma": -1.0}}, "sigma"),
    ({"temporal": [0, 0.5]}, "key 'temporal' expects"),
])
def test_invalid_token_selection_is_a_config_error(selection, message):
    cfg = dict(TINY, name="TokenShiftVisionTransformer", token_selection=selection)
    with pytest.raises(ConfigError, match=message):
        build_backbone(cfg)


def test_timesformer_selects_on_other_clip_lengths_and_non_square_inputs():
    """The kept counts follow the input: 8 frames (model built for 4) keep 4; a 6x4 patch grid keeps a
    4x3 window (``round(side * sqrt(0.5))`` per side)."""
    model = VisionTransformer(**TINY, token_selection={"spatial": {"block": 0, "keep": 0.5},
                                                       "temporal": {"block": 1, "keep": 0.5}})
    model.init_weights()
    model.eval()
    seen = {}
    model.blocks[0].register_forward_pre_hook(lambda layer, inputs: seen.update({"0": inputs[0].shape}))
    model.blocks[1].register_forward_pre_hook(lambda layer, inputs: seen.update({"1": inputs[0].shape}))
    assert model(paddle.randn([2, 3, 8, 48, 32])).shape == [2, 32]
    assert seen["0"] == [2, 1 + 12 * 8, 32] and seen["1"] == [2, 1 + 12 * 4, 32]
