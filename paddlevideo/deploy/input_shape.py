"""What the exported model's input looks like, read from the config alone.

The input is ``imgs``, float32 ``[B, C, V*T, H, W]`` with a dynamic batch ``B``: ``V`` views of
``T = num_seg`` frames stacked on the frame axis. Export writes it and ``predict.py`` checks the
test pipeline's clips against it, so both read it here; this module imports no model code.
"""
from typing import Dict, List, Optional

from ..config.schema import backbone_setting
from ..errors import ConfigError

INPUT_NAME = "imgs"


def inference_input_shape(cfg: Dict, views: Optional[int] = None) -> List[Optional[int]]:
    """``[None, C, num_seg * views, H, W]`` from ``INFERENCE`` (falling back to the backbone).

    Args:
        cfg: the whole config.
        views: override ``INFERENCE.views`` (e.g. 1 for single-clip benchmarks).

    Raises:
        ConfigError: ``views`` below 1.
    """
    backbone = cfg["MODEL"]["backbone"]
    inference = cfg.get("INFERENCE") or {}

    def setting(inference_key: str, backbone_key: str) -> int:
        if inference_key in inference:
            return int(inference[inference_key])
        return int(backbone_setting(backbone, backbone_key))

    num_seg = setting("num_seg", "num_seg")
    size = setting("target_size", "img_size")
    views = int(views if views is not None else inference.get("views", 1))
    if views < 1:
        raise ConfigError(f"INFERENCE.views must be >= 1, got {views}")
    return [None, int(backbone_setting(backbone, "in_channels")), num_seg * views, size, size]
