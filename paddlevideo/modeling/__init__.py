"""Models: importing this package registers every backbone, head, recognizer and loss."""
from . import backbones, framework, heads, losses  # noqa: F401
