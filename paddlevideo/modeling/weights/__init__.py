"""Loading of image-pretrained weights into the backbone."""
from .pretrained import load_pretrained_backbone

__all__ = ["load_pretrained_backbone"]
