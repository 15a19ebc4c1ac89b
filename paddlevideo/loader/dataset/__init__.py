"""Datasets that read a list file and run a pipeline per sample (registered in ``DATASETS``)."""
from .base import ClipDataset, ClipSample
from .frame_dataset import FrameDataset
from .video_dataset import VideoDataset

__all__ = ["ClipDataset", "ClipSample", "FrameDataset", "VideoDataset"]
