"""Train and test entry points used by main.py."""
from .test import test_model
from .train import train_model

__all__ = ["test_model", "train_model"]
