"""Helpers shared by the TimeSformer tests: tiny model config, official checkpoints, clips, logits."""
import numpy as np
import paddle
from torch_pth_helpers import as_state_dict, save_pth  # tests/fixtures/torch_pth_helpers.py

TOL = 1e-4
DIM, HEADS, PATCH, GRID, FRAMES, CLASSES = 32, 4, 8, 4, 4, 5  # img_size 32, num_seg 4
ATTENTION_TYPES = ("divided_space_time", "space_only", "joint_space_time")
__all__ = ["as_state_dict", "save_pth"]  # re-exported: the torch-free .pth writer of tests/fixtures


def tiny_cfg(attention_type: str = "divided_space_time", dim: int = DIM, depth: int = 2, num_classes=CLASSES):
    return {"framework": "RecognizerTransformer",
            "backbone": {"name": "VisionTransformer", "img_size": GRID * PATCH, "patch_size": PATCH,
                         "embed_dim": dim, "depth": depth, "num_heads": HEADS, "num_seg": FRAMES,
                         "attention_type": attention_type},
            "head": {"name": "TimeSformerHead", "num_classes": num_classes, "in_channels": dim}}


def write_official_checkpoint(path, weights) -> str:
    """``weights`` as facebookresearch/TimeSformer's ``save_checkpoint`` writes them (``model.`` prefix)."""
    state = as_state_dict({f"model.{k}": v for k, v in weights.items()})
    momentum = {i: {"momentum_buffer": np.zeros_like(v)} for i, v in enumerate(weights.values())}
    optimizer = {"state": momentum, "param_groups": [{"lr": 0.005, "momentum": 0.9, "dampening": 0.0,
                                                      "weight_decay": 1e-4, "nesterov": True,
                                                      "params": list(range(len(weights)))}]}
    return save_pth({"epoch": 15, "model_state": state, "optimizer_state": optimizer,
                     "cfg": "TIMESFORMER:\n  ATTENTION_TYPE: divided_space_time\n"}, str(path))


def logits(model, video: np.ndarray) -> np.ndarray:
    with paddle.no_grad():
        return model.head(model.backbone(paddle.to_tensor(video))).numpy()


def video(frames: int, height: int, width: int, batch: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((batch, 3, frames, height, width)).astype(np.float32)
