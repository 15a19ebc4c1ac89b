"""STTS's token scorer (``PredictorLG`` in the official code): one score per token from the token's own
features and a feature pooled over all tokens it competes with."""
import paddle
import paddle.nn as nn


class TokenScorer(nn.Layer):
    """LayerNorm -> Linear -> GELU; then the first half of the channels of every token is concatenated
    with the mean over tokens of the second half, and an MLP (C -> C/2 -> C/4 -> 1, GELU) scores it.

    Same layer shapes and sublayer names (``in_conv``, ``out_conv``) as the official ``PredictorLG``.
    ``[G, M, C]`` -> scores ``[G, M]``: the global half is pooled over the M tokens of each group.
    """

    def __init__(self, embed_dim: int):
        super().__init__()
        if embed_dim < 4:
            raise ValueError(f"the token scorer needs embed_dim >= 4, got {embed_dim}")
        self.in_conv = nn.Sequential(nn.LayerNorm(embed_dim), nn.Linear(embed_dim, embed_dim), nn.GELU())
        self.out_conv = nn.Sequential(
            nn.Linear(embed_dim, embed_dim // 2), nn.GELU(), nn.Linear(embed_dim // 2, embed_dim // 4),
            nn.GELU(), nn.Linear(embed_dim // 4, 1))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        x = self.in_conv(x)  # [G, M, C]
        half = x.shape[2] // 2
        pooled = x[:, :, half:].mean(axis=1, keepdim=True)  # [G, 1, C - C/2]
        pooled = paddle.tile(pooled, [1, x.shape[1], 1])  # [G, M, C - C/2]
        return self.out_conv(paddle.concat([x[:, :, :half], pooled], axis=2)).squeeze(-1)  # [G, M]
