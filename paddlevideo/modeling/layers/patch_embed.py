"""Non-overlapping patch embedding."""
import paddle
import paddle.nn as nn


class PatchEmbed(nn.Layer):
    """Split an image into patches with a conv (kernel = stride = patch) and flatten them to tokens.

    Input ``[N, C, H, W]`` -> output ``[N, (H/p)*(W/p), embed_dim]``. The input size is not asserted:
    the backbone owns the size contract (and resamples position embeddings when it changes).
    """

    def __init__(self, img_size: int, patch_size: int, in_channels: int, embed_dim: int):
        super().__init__()
        if img_size % patch_size:
            raise ValueError(f"img_size {img_size} is not a multiple of patch_size {patch_size}")
        self.grid_size = img_size // patch_size
        self.num_patches = self.grid_size**2
        self.proj = nn.Conv2D(in_channels, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        x = self.proj(x)  # [N, D, h, w]
        return x.flatten(2).transpose([0, 2, 1])  # [N, h*w, D]
