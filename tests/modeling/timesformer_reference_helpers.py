"""Independent float64 numpy TimeSformer forward on official-layout weights, and random such weights.

Written from the official code (facebookresearch/TimeSformer ``timesformer/models/vit.py``), not from
our Paddle model: every ``einops.rearrange`` of the official forward is spelt out as the equivalent
numpy reshape/transpose (the pattern is quoted next to it), the official control flow is kept (the
class token taken from the first B rows of the ``(b t)`` batch; position-grid resizing decided by the
token count), and the weights stay in the official ``.pyth`` names and PyTorch layouts (Linear
``[out, in]``, conv ``[D, 3, p, p]``), so no conversion code is shared with the package. LayerNorm eps
1e-6, exact erf GELU, attention scale ``head_dim**-0.5``; ``F.interpolate(mode='nearest')`` is
reproduced with PyTorch's float32 index rule.
"""
import math
from typing import Dict

import numpy as np

ERF = np.vectorize(math.erf, otypes=[np.float64])
EPS = 1e-6


def layer_norm(x: np.ndarray, w: Dict[str, np.ndarray], name: str) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS) * w[name + ".weight"] + w[name + ".bias"]


def linear(x: np.ndarray, w: Dict[str, np.ndarray], name: str) -> np.ndarray:
    return x @ w[name + ".weight"].T + w[name + ".bias"]  # torch Linear: weight [out, in]


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def attention(x: np.ndarray, w: Dict[str, np.ndarray], name: str, num_heads: int) -> np.ndarray:
    """Official ``Attention.forward`` on ``x`` ``[S, L, C]``."""
    s, length, c = x.shape
    qkv = linear(x, w, name + ".qkv").reshape(s, length, 3, num_heads, c // num_heads).transpose(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]  # [S, heads, L, hd]
    attn = softmax((q @ k.swapaxes(-2, -1)) * (c // num_heads) ** -0.5)
    return linear((attn @ v).transpose(0, 2, 1, 3).reshape(s, length, c), w, name + ".proj")


def mlp(x: np.ndarray, w: Dict[str, np.ndarray], name: str) -> np.ndarray:
    hidden = linear(x, w, name + ".fc1")
    return linear(0.5 * hidden * (1.0 + ERF(hidden / math.sqrt(2.0))), w, name + ".fc2")


def torch_nearest(n_in: int, n_out: int) -> np.ndarray:
    """Source indices of ``F.interpolate(size=n_out, mode='nearest')`` (float32 scale, floorf, clamp)."""
    scale = np.float32(n_in) / np.float32(n_out)
    return np.array([min(int(np.floor(np.float32(i) * scale)), n_in - 1) for i in range(n_out)])


def divided_block(x: np.ndarray, w: Dict[str, np.ndarray], name: str, num_heads: int, b: int, t: int,
                  h: int, wd: int) -> np.ndarray:
    """Official ``Block.forward`` for ``divided_space_time``; ``x`` ``[b, 1 + h*w*t, m]``."""
    m = x.shape[-1]
    xt = x[:, 1:, :].reshape(b * h * wd, t, m)  # 'b (h w t) m -> (b h w) t m'
    res_temporal = attention(layer_norm(xt, w, name + ".temporal_norm1"), w, name + ".temporal_attn", num_heads)
    res_temporal = res_temporal.reshape(b, h * wd * t, m)  # '(b h w) t m -> b (h w t) m'
    res_temporal = linear(res_temporal, w, name + ".temporal_fc")
    xt = x[:, 1:, :] + res_temporal

    init_cls_token = x[:, 0, :][:, None]  # [b, 1, m]
    cls_token = np.repeat(init_cls_token, t, axis=1).reshape(b * t, m)[:, None]  # 'b t m -> (b t) m'
    xs = xt.reshape(b, h * wd, t, m).transpose(0, 2, 1, 3).reshape(b * t, h * wd, m)  # 'b (h w t) m -> (b t) (h w) m'
    xs = np.concatenate([cls_token, xs], axis=1)
    res_spatial = attention(layer_norm(xs, w, name + ".norm1"), w, name + ".attn", num_heads)

    cls_token = res_spatial[:, 0, :].reshape(b, t, m).mean(axis=1, keepdims=True)  # '(b t) m -> b t m', mean
    res_spatial = res_spatial[:, 1:, :].reshape(b, t, h * wd, m).transpose(0, 2, 1, 3).reshape(b, h * wd * t, m)
    x = np.concatenate([init_cls_token, xt], axis=1) + np.concatenate([cls_token, res_spatial], axis=1)
    return x + mlp(layer_norm(x, w, name + ".norm2"), w, name + ".mlp")


def plain_block(x: np.ndarray, w: Dict[str, np.ndarray], name: str, num_heads: int) -> np.ndarray:
    """Official ``Block.forward`` for ``space_only`` and ``joint_space_time``."""
    x = x + attention(layer_norm(x, w, name + ".norm1"), w, name + ".attn", num_heads)
    return x + mlp(layer_norm(x, w, name + ".norm2"), w, name + ".mlp")


def embed(w: Dict[str, np.ndarray], video: np.ndarray, attention_type: str):
    """Official ``PatchEmbed`` + position and time embeddings; returns (x, grid_h, grid_w)."""
    b, c, t, height, width = video.shape
    kernel = w["patch_embed.proj.weight"]  # [D, 3, p, p]
    p = kernel.shape[-1]
    gh, gw = height // p, width // p
    frames = video.transpose(0, 2, 1, 3, 4)[:, :, :, :gh * p, :gw * p].reshape(b * t, c, gh, p, gw, p)
    x = np.einsum("ncypxq,dcpq->nyxd", frames, kernel).reshape(b * t, gh * gw, -1)  # conv, stride = kernel
    x = x + w["patch_embed.proj.bias"]
    m = x.shape[-1]
    x = np.concatenate([np.broadcast_to(w["cls_token"], (b * t, 1, m)), x], axis=1)
    pos = w["pos_embed"]
    if x.shape[1] != pos.shape[1]:  # the official test: token counts differ
        grid = int(pos[0, 1:].shape[0] ** 0.5)
        other = pos[0, 1:].reshape(grid, grid, m)[torch_nearest(grid, gh)][:, torch_nearest(grid, gw)]
        pos = np.concatenate([pos[:, :1], other.reshape(1, gh * gw, m)], axis=1)
    x = x + pos
    if attention_type != "space_only":
        cls_tokens = x[:b, 0, :][:, None]  # the official code's first b rows (all rows hold the same cls)
        n = gh * gw
        x = x[:, 1:].reshape(b, t, n, m).transpose(0, 2, 1, 3).reshape(b * n, t, m)  # '(b t) n m -> (b n) t m'
        time_embed = w["time_embed"]
        if t != time_embed.shape[1]:
            time_embed = time_embed[:, torch_nearest(time_embed.shape[1], t)]
        x = (x + time_embed).reshape(b, n * t, m)  # '(b n) t m -> b (n t) m'
        x = np.concatenate([cls_tokens, x], axis=1)
    return x, gh, gw


def timesformer_logits(weights: Dict[str, np.ndarray], video: np.ndarray, num_heads: int,
                       attention_type: str = "divided_space_time") -> np.ndarray:
    """Logits ``[B, K]`` of the official ``VisionTransformer.forward`` for ``video`` ``[B, 3, T, H, W]``.

    ``weights`` are official names without the ``model.`` prefix (``cls_token``, ``blocks.0.attn.qkv.weight``,
    ..., ``head.weight``), in PyTorch layouts.
    """
    w = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
    b, t = video.shape[0], video.shape[2]
    x, gh, gw = embed(w, video.astype(np.float64), attention_type)
    depth = len({k.split(".")[1] for k in w if k.startswith("blocks.")})
    for i in range(depth):
        if attention_type == "divided_space_time":
            x = divided_block(x, w, f"blocks.{i}", num_heads, b, t, gh, gw)
        else:
            x = plain_block(x, w, f"blocks.{i}", num_heads)
    if attention_type == "space_only":
        x = x.reshape(b, t, x.shape[1], x.shape[2]).mean(axis=1)  # '(b t) n m -> b t n m', mean over t
    return linear(layer_norm(x, w, "norm")[:, 0], w, "head")


def random_timesformer(seed: int, attention_type: str = "divided_space_time", embed_dim: int = 32,
                       depth: int = 2, mlp_dim: int = 128, patch: int = 8, grid: int = 4, num_frames: int = 4,
                       num_classes: int = 5) -> Dict[str, np.ndarray]:
    """Random official-layout TimeSformer weights (float32) whose scales make small slips visible.

    As in the TokShift reference: a small residual stream (LayerNorm eps matters), MLP pre-activations
    over about [-4, 4] (tanh-GELU differs from erf-GELU), a head that amplifies the features, and
    non-zero ``time_embed``/``temporal_fc`` (at their zero init the temporal path would be invisible).
    """
    rng = np.random.default_rng(seed)
    d = embed_dim

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    w = {"patch_embed.proj.weight": normal((d, 3, patch, patch), 0.02 / patch),
         "patch_embed.proj.bias": normal((d,), 0.02),
         "cls_token": normal((1, 1, d), 0.05),
         "pos_embed": normal((1, grid * grid + 1, d), 0.05),
         "norm.weight": 1.0 + normal((d,), 0.2), "norm.bias": normal((d,), 0.1),
         "head.weight": normal((num_classes, d), 3.0), "head.bias": normal((num_classes,), 0.5)}
    if attention_type != "space_only":
        w["time_embed"] = normal((1, num_frames, d), 0.05)
    attentions = ("attn", "temporal_attn") if attention_type == "divided_space_time" else ("attn",)
    for i in range(depth):
        root = f"blocks.{i}."
        for name in attentions:
            w[root + name + ".qkv.weight"] = normal((3 * d, d), 1.0 / math.sqrt(d))
            w[root + name + ".qkv.bias"] = normal((3 * d,), 0.1)
            w[root + name + ".proj.weight"] = normal((d, d), 0.1 / math.sqrt(d))
            w[root + name + ".proj.bias"] = normal((d,), 0.02)
        norms = ("norm1", "norm2", "temporal_norm1") if len(attentions) == 2 else ("norm1", "norm2")
        for name in norms:
            w[root + name + ".weight"] = 1.0 + normal((d,), 0.2)
            w[root + name + ".bias"] = normal((d,), 0.1)
        if len(attentions) == 2:
            w[root + "temporal_fc.weight"] = normal((d, d), 1.0 / math.sqrt(d))
            w[root + "temporal_fc.bias"] = normal((d,), 0.02)
        w[root + "mlp.fc1.weight"] = normal((mlp_dim, d), 2.0 / math.sqrt(d))
        w[root + "mlp.fc1.bias"] = normal((mlp_dim,), 0.5)
        w[root + "mlp.fc2.weight"] = normal((d, mlp_dim), 0.3 / math.sqrt(mlp_dim))
        w[root + "mlp.fc2.bias"] = normal((d,), 0.02)
    return w
