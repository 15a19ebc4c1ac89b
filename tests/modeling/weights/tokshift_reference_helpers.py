"""Independent float64 numpy TokShift forward on Google-ViT-layout weights, and random such weights.

Written from the definition (paper + official ``modeling_tokshift.py``), not from our Paddle model:
per-frame ViT with a conv patch embedding, class token and position embedding; every block does
``x = shift(x); x = x + attn(norm1(x)); x = shift(x); x = x + mlp(norm2(x))`` where ``shift`` only
touches token 0; LayerNorm eps 1e-6, exact erf GELU, attention scale ``head_dim**-0.5``; final
LayerNorm; a linear head on each frame's class token; logits averaged over frames.

Tensors keep the clip layout ``[B, T, N, C]`` throughout (our model flattens to ``[B*T, N, C]``).
Weights are the Google ``.npz`` dict, used in Flax's own conventions (HWIO conv kernel, DenseGeneral
kernels ``[D, heads, head_dim]`` / ``[heads, head_dim, D]``), so no conversion code is shared.
"""
import math
from typing import Dict

import numpy as np

ERF = np.vectorize(math.erf, otypes=[np.float64])
EPS = 1e-6


def layer_norm(x: np.ndarray, scale: np.ndarray, bias: np.ndarray, eps: float = EPS) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * scale + bias


def gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + ERF(x / math.sqrt(2.0)))


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def shift_class_token(x: np.ndarray, shift_div: int) -> np.ndarray:
    """``x`` ``[B, T, N, C]``: channels [0, fold) of token 0 take frame t+1, [fold, 2 fold) frame t-1."""
    if shift_div == 0:
        return x
    fold = x.shape[-1] // shift_div
    out = x.copy()
    out[:, :, 0, :2 * fold] = 0.0
    out[:, :-1, 0, :fold] = x[:, 1:, 0, :fold]
    out[:, 1:, 0, fold:2 * fold] = x[:, :-1, 0, fold:2 * fold]
    return out


def patch_embed(video: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``video`` ``[B, T, 3, H, W]``, HWIO ``kernel`` ``[p, p, 3, D]`` -> tokens ``[B, T, gh*gw, D]``."""
    b, t, c, h, w = video.shape
    p = kernel.shape[0]
    patches = video.reshape(b, t, c, h // p, p, w // p, p)  # [B, T, c, i, y, j, x]
    out = np.einsum("btciyjx,yxcd->btijd", patches, kernel) + bias  # a conv with stride = kernel
    return out.reshape(b, t, (h // p) * (w // p), -1)  # row-major over the patch grid


def attention(x: np.ndarray, w: Dict[str, np.ndarray], root: str) -> np.ndarray:
    a = root + "MultiHeadDotProductAttention_1/"
    q, k, v = (np.einsum("btnd,dhk->btnhk", x, w[a + f"{n}/kernel"]) + w[a + f"{n}/bias"]
               for n in ("query", "key", "value"))
    head_dim = q.shape[-1]
    scores = np.einsum("btqhk,btshk->bthqs", q, k) * head_dim ** -0.5
    context = np.einsum("bthqs,btshk->btqhk", softmax(scores), v)
    return np.einsum("btqhk,hkd->btqd", context, w[a + "out/kernel"]) + w[a + "out/bias"]


def mlp(x: np.ndarray, w: Dict[str, np.ndarray], root: str) -> np.ndarray:
    m = root + "MlpBlock_3/"
    hidden = gelu(x @ w[m + "Dense_0/kernel"] + w[m + "Dense_0/bias"])
    return hidden @ w[m + "Dense_1/kernel"] + w[m + "Dense_1/bias"]


def tokshift_logits(weights: Dict[str, np.ndarray], video: np.ndarray, shift_div: int) -> np.ndarray:
    """Logits ``[B, K]`` for ``video`` ``[B, T, 3, H, W]`` (the official input layout)."""
    w = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
    x = patch_embed(video.astype(np.float64), w["embedding/kernel"], w["embedding/bias"])
    b, t, _, d = x.shape
    cls = np.broadcast_to(w["cls"].reshape(1, 1, 1, d), (b, t, 1, d))
    x = np.concatenate([cls, x], axis=2) + w["Transformer/posembed_input/pos_embedding"][None]
    depth = len({k.split("/")[1] for k in w if k.startswith("Transformer/encoderblock_")})
    for i in range(depth):
        root = f"Transformer/encoderblock_{i}/"
        x = shift_class_token(x, shift_div)
        x = x + attention(layer_norm(x, w[root + "LayerNorm_0/scale"], w[root + "LayerNorm_0/bias"]), w, root)
        x = shift_class_token(x, shift_div)
        x = x + mlp(layer_norm(x, w[root + "LayerNorm_2/scale"], w[root + "LayerNorm_2/bias"]), w, root)
    x = layer_norm(x, w["Transformer/encoder_norm/scale"], w["Transformer/encoder_norm/bias"])
    per_frame = x[:, :, 0] @ w["head/kernel"] + w["head/bias"]  # [B, T, K]
    return per_frame.mean(axis=1)


def random_google_vit(seed: int, embed_dim: int = 32, depth: int = 2, num_heads: int = 4,
                      mlp_dim: int = 128, patch: int = 8, grid: int = 4, num_classes: int = 5,
                      pre_logits: bool = False) -> Dict[str, np.ndarray]:
    """A random Google-layout ViT (float32) whose scales make small numeric slips visible.

    The residual stream is kept small (embedding and branch outputs ~0.05-0.3), so every LayerNorm
    normalises a low-variance input and its eps matters; MLP pre-activations are spread over
    about [-4, 4], where tanh-GELU and erf-GELU differ most; the head amplifies the final features.
    """
    rng = np.random.default_rng(seed)
    d, h = embed_dim, num_heads

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    w = {"embedding/kernel": normal((patch, patch, 3, d), 0.02 / patch),
         "embedding/bias": normal((d,), 0.02),
         "cls": normal((1, 1, d), 0.05),
         "Transformer/posembed_input/pos_embedding": normal((1, grid * grid + 1, d), 0.05),
         "Transformer/encoder_norm/scale": 1.0 + normal((d,), 0.2),
         "Transformer/encoder_norm/bias": normal((d,), 0.1),
         "head/kernel": normal((d, num_classes), 3.0),
         "head/bias": normal((num_classes,), 0.5)}
    for i in range(depth):
        root = f"Transformer/encoderblock_{i}/"
        a = root + "MultiHeadDotProductAttention_1/"
        for n in ("query", "key", "value"):
            w[a + f"{n}/kernel"] = normal((d, h, d // h), 1.0 / math.sqrt(d))
            w[a + f"{n}/bias"] = normal((h, d // h), 0.1)
        w[a + "out/kernel"] = normal((h, d // h, d), 0.1 / math.sqrt(d))
        w[a + "out/bias"] = normal((d,), 0.02)
        for n in ("LayerNorm_0", "LayerNorm_2"):
            w[root + f"{n}/scale"] = 1.0 + normal((d,), 0.2)
            w[root + f"{n}/bias"] = normal((d,), 0.1)
        w[root + "MlpBlock_3/Dense_0/kernel"] = normal((d, mlp_dim), 2.0 / math.sqrt(d))
        w[root + "MlpBlock_3/Dense_0/bias"] = normal((mlp_dim,), 0.5)
        w[root + "MlpBlock_3/Dense_1/kernel"] = normal((mlp_dim, d), 0.3 / math.sqrt(mlp_dim))
        w[root + "MlpBlock_3/Dense_1/bias"] = normal((d,), 0.02)
    if pre_logits:
        w["pre_logits/kernel"] = normal((d, d), 0.1)
        w["pre_logits/bias"] = normal((d,), 0.1)
    return w
