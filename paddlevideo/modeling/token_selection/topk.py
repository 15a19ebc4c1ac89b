"""Top-K selection as indicator matrices: the hard one (inference, export) and STTS's differentiable one.

STTS (Wang et al., "Efficient Video Transformers with Spatial-Temporal Token Selection", ECCV 2022)
trains its token scorer through a perturbed maximum (Berthet et al., "Learning with Differentiable
Perturbed Optimizers", NeurIPS 2020): the indicator of the top-K set is averaged over Gaussian
perturbations of the scores, and its Jacobian is estimated from the same samples,
``d E[onehot] / d s = E[onehot(s + sigma*z) z^T] / sigma``. As in STTS, the K selected positions of
every sample are sorted by index, so row ``k`` of the indicator is the k-th kept position in original
order, and the scores are min-max normalised per row first (``sigma`` is relative to their range).
"""
import paddle
import paddle.nn.functional as F

NORM_EPS = 1e-5


def minmax_normalize(scores: paddle.Tensor) -> paddle.Tensor:
    """Scale each row of ``scores`` ``[R, D]`` to [0, 1] (STTS's normalisation before top-K)."""
    low = scores.min(axis=-1, keepdim=True)
    high = scores.max(axis=-1, keepdim=True)
    return (scores - low) / (high - low + NORM_EPS)


def hard_topk_indices(scores: paddle.Tensor, k: int) -> paddle.Tensor:
    """Positions of the ``k`` largest entries of each row, ascending: ``[R, D]`` -> int64 ``[R, k]``."""
    indices = paddle.topk(scores, k, axis=-1)[1]  # [R, k], by decreasing score
    return paddle.sort(indices, axis=-1)  # [R, k], original order


def hard_topk_indicators(scores: paddle.Tensor, k: int) -> paddle.Tensor:
    """One-hot rows of :func:`hard_topk_indices`: ``[R, D]`` -> ``[R, k, D]`` (no gradient)."""
    return F.one_hot(hard_topk_indices(scores, k), scores.shape[-1]).astype(scores.dtype)


def perturbed_topk(scores: paddle.Tensor, k: int, sigma: float, num_samples: int) -> paddle.Tensor:
    """Differentiable top-K indicator ``[R, k, D]`` of ``scores`` ``[R, D]``.

    The value is ``mean_s onehot(topk(scores + sigma * z_s))`` over ``num_samples`` Gaussian draws
    ``z_s`` (each draw's K positions in ascending order); the gradient with respect to ``scores`` is the
    perturbed-optimizer estimate ``mean_s onehot_s z_s^T / sigma``. It is written as a first-order
    surrogate, ``value + J (scores - stop_gradient(scores))``, whose second term is exactly zero in the
    forward pass, so no custom backward is needed. ``sigma <= 0`` gives the hard indicator (no gradient
    reaches ``scores``): the end point of STTS's schedule, where sigma has decayed to 0.
    """
    if sigma <= 0:
        return hard_topk_indicators(scores, k)
    d = scores.shape[-1]
    noise = paddle.randn([scores.shape[0], num_samples, d], dtype=scores.dtype)  # [R, S, D]
    perturbed = scores.detach().unsqueeze(1) + sigma * noise  # [R, S, D]
    onehot = F.one_hot(hard_topk_indices(perturbed, k), d).astype(scores.dtype)  # [R, S, k, D]
    value = onehot.mean(axis=1)  # [R, k, D]
    jacobian = paddle.einsum("rskd,rse->rkde", onehot, noise) / (num_samples * sigma)  # [R, k, D, D]
    delta = (scores - scores.detach()).unsqueeze(1).unsqueeze(-1)  # [R, 1, D, 1], zero-valued
    return value + paddle.matmul(jacobian, delta).squeeze(-1)  # [R, k, D]
