"""The token shift of TokShift: class tokens exchange a fraction of their channels with the neighbouring
frames (see :func:`token_shift`)."""
import paddle
import paddle.nn as nn

from .fast_paths import fast_paths_enabled


def token_shift(x: paddle.Tensor, num_seg: int, shift_div: int, overwrite: bool = False) -> paddle.Tensor:
    """Shift the class token of each frame along time.

    With ``fold = C // shift_div``, channels ``[0, fold)`` of frame ``t`` take the value of frame ``t+1``
    (the last frame gets 0) and channels ``[fold, 2*fold)`` take frame ``t-1`` (the first frame gets 0).
    Other channels and all patch tokens are unchanged.

    The result is the patch tokens of ``x`` behind the shifted class tokens. Concatenating them copies
    every token twice (the slice, then the concatenation) to change one token per frame, twice per
    block. With ``overwrite`` (eager mode, outside :func:`.fast_paths.reference_kernels`) the shifted
    class tokens are written into ``x`` instead and ``x`` is returned, which copies only the class
    tokens; values and gradients are the same. Only a caller that owns ``x`` (no other use reads it
    afterwards) may pass ``overwrite``.

    Args:
        x: tokens ``[B*T, N, C]``, frame-major within each clip (row ``b*T + t``).
        num_seg: frames per clip ``T``.
        shift_div: the fraction of channels shifted each way is ``1/shift_div``.
        overwrite: write the result into ``x`` where the fast paths are enabled.

    Returns:
        tokens ``[B*T, N, C]``.
    """
    c = x.shape[2]
    fold = c // shift_div
    cls = x[:, :1, :].reshape([-1, num_seg, 1, c])  # [B, T, 1, C]
    pad = paddle.zeros_like(cls[:, :1, :, :fold])  # [B, 1, 1, fold]
    from_next = paddle.concat([cls[:, 1:, :, :fold], pad], axis=1)  # frame t <- t+1
    from_prev = paddle.concat([pad, cls[:, :-1, :, fold:2 * fold]], axis=1)  # frame t <- t-1
    cls = paddle.concat([from_next, from_prev, cls[:, :, :, 2 * fold:]], axis=3).reshape([-1, 1, c])
    if x.shape[1] == 1:  # class token only (the last block): no empty concat, which oneDNN rejects
        return cls
    if overwrite and fast_paths_enabled():
        x[:, :1, :] = cls
        return x
    return paddle.concat([cls, x[:, 1:, :]], axis=1)  # [B*T, N, C]


class TokenShift(nn.Layer):
    """Layer wrapper of :func:`token_shift`."""

    def __init__(self, num_seg: int, shift_div: int):
        super().__init__()
        self.num_seg = num_seg
        self.shift_div = shift_div

    def forward(self, x: paddle.Tensor, overwrite: bool = False) -> paddle.Tensor:
        return token_shift(x, self.num_seg, self.shift_div, overwrite)

    def extra_repr(self) -> str:
        return f"num_seg={self.num_seg}, shift_div={self.shift_div}"
