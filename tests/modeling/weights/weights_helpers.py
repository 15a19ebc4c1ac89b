"""Helpers shared by the weight-conversion tests: fixture paths, tiny model configs, forward runs."""
import os
from typing import Dict

import numpy as np
import paddle

from paddlevideo.modeling.builder import build_model
from paddlevideo.modeling.weights.loading import load_weights

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")
OFFICIAL_PTH = os.path.join(FIXTURES, "tokshift_tiny_official.pth")
OFFICIAL_NPZ = os.path.join(FIXTURES, "tokshift_tiny_official.npz")  # same weights, Google layout
DTYPES_PTH = os.path.join(FIXTURES, "torch_dtypes.pth")
DTYPES_NPZ = os.path.join(FIXTURES, "torch_dtypes.npz")


def model_cfg(google: Dict[str, np.ndarray], num_seg: int, shift_div: int, img_size: int = 0) -> Dict:
    """MODEL section matching Google-layout weights (sizes read from the arrays)."""
    patch, _, _, dim = google["embedding/kernel"].shape
    heads = google["Transformer/encoderblock_0/MultiHeadDotProductAttention_1/query/kernel"].shape[1]
    hidden = google["Transformer/encoderblock_0/MlpBlock_3/Dense_0/kernel"].shape[1]
    depth = len({k.split("/")[1] for k in google if k.startswith("Transformer/encoderblock_")})
    grid = int(round(np.sqrt(google["Transformer/posembed_input/pos_embedding"].shape[1] - 1)))
    return {"framework": "RecognizerTransformer",
            "backbone": {"name": "TokenShiftVisionTransformer", "img_size": img_size or grid * patch,
                         "patch_size": patch, "embed_dim": dim, "depth": depth, "num_heads": heads,
                         "mlp_ratio": hidden / dim, "num_seg": num_seg, "shift_div": shift_div},
            "head": {"name": "TokenShiftHead", "num_classes": google["head/kernel"].shape[1],
                     "in_channels": dim}}


def model_with(state: Dict[str, np.ndarray], cfg: Dict) -> paddle.nn.Layer:
    """The config's recognizer in eval mode with ``state`` loaded strictly."""
    model = build_model(cfg, init=False)
    load_weights(model, state, source="test", strict=True)
    model.eval()
    return model


def paddle_logits(model: paddle.nn.Layer, video: np.ndarray) -> np.ndarray:
    """``video`` ``[B, T, 3, H, W]`` (official layout) -> logits ``[B, K]``."""
    with paddle.no_grad():
        x = paddle.to_tensor(video.transpose(0, 2, 1, 3, 4))  # our input is [B, 3, T, H, W]
        return model([x], mode="infer").numpy()


def random_video(batch: int, frames: int, size: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((batch, frames, 3, size, size)).astype(np.float32)
