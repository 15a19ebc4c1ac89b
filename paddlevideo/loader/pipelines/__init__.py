"""Per-sample pipeline ops, registered in ``PIPELINES`` on import.

Numpy/cv2/decord only -- no paddle -- because these run inside DataLoader worker processes.
A sample flows as a ``results`` dict that starts as ``{'filename': str, 'label': int}``.
"""
from .augmentations import CenterCrop, FlipViews, JitterScale, MultiCenterCrop, RandomCrop, RandomFlip, Scale, ThreeCrop
from .color import RandomBrightness, RandomGamma, RandomHue, RandomSaturation
from .compose import Compose
from .decode import VideoDecoder
from .decode_frames import FrameDecoder
from .normalize import Image2Array, Normalization
from .sample import Sampler
from .uniform_crop import UniformCrop

__all__ = [
    "CenterCrop", "Compose", "FlipViews", "FrameDecoder", "Image2Array", "JitterScale",
    "MultiCenterCrop", "Normalization", "RandomBrightness", "RandomCrop", "RandomFlip",
    "RandomGamma", "RandomHue", "RandomSaturation", "Sampler", "Scale", "ThreeCrop", "UniformCrop",
    "VideoDecoder",
]
