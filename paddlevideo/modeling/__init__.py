"""Models: importing this package registers every backbone, head, recognizer and loss.

It also applies :mod:`.cpu_settings` (Paddle's stride kernels off, freed memory kept for reuse): eager
training and inference on CPU ran 1.1-4x faster with them, with the same values.
"""
from . import backbones, cpu_settings, framework, heads, losses  # noqa: F401

cpu_settings.apply()
