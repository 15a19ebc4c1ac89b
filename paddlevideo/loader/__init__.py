"""Data loading: per-sample pipeline ops and datasets.

Importing this package registers every pipeline op in ``PIPELINES`` and every dataset in
``DATASETS`` so that configs can name them. The pipeline modules never import paddle (they run
in DataLoader worker processes); only the dataset module does.
"""
# Importing the subpackages registers the pipeline ops and the datasets.
from .dataset import VideoDataset
from .errors import DecodeError
from .pipelines import Compose

__all__ = ["Compose", "DecodeError", "VideoDataset"]
