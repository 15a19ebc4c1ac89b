"""Video files listed PaddleVideo's way: one ``relative/path.ext label`` per line."""
from typing import Any, Dict

from paddlevideo.errors import ConfigError
from paddlevideo.registry import DATASETS
from paddlevideo.utils.dataset_lists import split_fields

from .base import ClipDataset, parse_label


@DATASETS.register()
class VideoDataset(ClipDataset):
    """Videos listed in ``file_path``; each sample starts the pipeline as ``{filename, label}``.

    The path may contain spaces: the label is the last whitespace-separated field. See
    ``ClipDataset`` for the arguments and the handling of videos that cannot be decoded.
    """

    def parse_line(self, line: str, where: str) -> Dict[str, Any]:
        parts = split_fields(line, 2)
        if parts is None:
            raise ConfigError(f"{where}: expected '<relative/path> <label>'")
        return {"filename": self.full_path(parts[0]),
                "label": parse_label(parts[1], where, self.num_classes)}
