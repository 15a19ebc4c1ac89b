"""Raw-frame folders listed PaddleVideo's way: one ``frame_dir num_frames label`` per line.

Why a second dataset: large video datasets are often stored as frames extracted once (e.g. with
ffmpeg or PaddleVideo's extraction scripts), which trades disk space for cheap random access. The
folder holds one image per frame named by a template (``img_00001.jpg``, ``img_00002.jpg``, ...,
1-based); ``FrameDecoder`` then reads only the sampled frames, and the same ``Sampler`` and
transforms as for videos apply.
"""
import os
from typing import Any, Dict, Optional, Union

from paddlevideo.config.defaults import DEFAULTS
from paddlevideo.errors import ConfigError
from paddlevideo.loader.pipelines import Compose, VideoDecoder
from paddlevideo.registry import DATASETS
from paddlevideo.utils.dataset_lists import split_fields

from .base import ClipDataset, parse_label


def check_template(template: str, owner: str) -> None:
    """Raise a ValueError unless ``template.format(i)`` names a distinct file for each frame."""
    example = "'img_{:05}.jpg'"
    try:
        first, second = template.format(1), template.format(2)
    except (IndexError, KeyError, ValueError) as err:
        raise ValueError(f"{owner}: suffix must be a frame file name template such as {example}, "
                         f"got {template!r} ({err})") from err
    if first == second:
        raise ValueError(f"{owner}: suffix must be a frame file name template with one field for "
                         f"the 1-based frame number, such as {example}, got {template!r}")


@DATASETS.register()
class FrameDataset(ClipDataset):
    """Frame folders listed in ``file_path``; see ``ClipDataset`` for the failure handling.

    Each line is ``<frame_dir> <num_frames> <label>``; the folder may contain spaces (the last two
    whitespace-separated fields are the frame count and the label). Each sample starts the pipeline
    as ``{filename, frame_dir, frames_len, suffix, label}``, where ``filename`` and ``frame_dir``
    both hold ``data_prefix`` joined to the listed folder (``filename`` is what messages show) and
    ``frames_len`` is the listed count, trusted without listing the folder.

    Args:
        file_path: the list file.
        pipeline: the ``PIPELINE.<mode>`` config section; its decode op is ``FrameDecoder``.
        data_prefix: directory joined in front of every listed folder.
        suffix: unlike ``VideoDataset``, NOT appended to the listed path: as in PaddleVideo's
            ``FrameDataset`` it is the template of the frame file names, formatted with the
            1-based frame number (frame index 0 is ``suffix.format(1)``).
        num_classes: if given, labels must lie in [0, num_classes).
        test_mode: failed samples are returned as failed instead of being replaced.
        num_retries: replacement samples tried after a failure in train mode.
        read_timeout: seconds one sample's read may take (see ``ClipDataset``).

    Raises:
        ConfigError: bad list file (file and line named) or pipeline config, including a
            ``VideoDecoder`` decode op.
        ValueError: ``suffix`` is not a frame-number template, or bad counts (see ``ClipDataset``).
    """

    def __init__(self, file_path: str, pipeline: Union[dict, Compose], data_prefix: str = "",
                 suffix: str = "img_{:05}.jpg", num_classes: Optional[int] = None,
                 test_mode: bool = False, num_retries: int = 5,
                 read_timeout: Optional[float] = DEFAULTS["DATASET.read_timeout"]):
        check_template(suffix, type(self).__name__)
        super().__init__(file_path, pipeline, data_prefix=data_prefix, suffix=suffix,
                         num_classes=num_classes, test_mode=test_mode, num_retries=num_retries,
                         read_timeout=read_timeout)
        if any(isinstance(op, VideoDecoder) for op in self.pipeline.ops):
            # It would try to open every frame folder as a video file and fail on every sample.
            raise ConfigError("PIPELINE.decode: FrameDataset samples are frame folders; decode "
                              "them with FrameDecoder, not VideoDecoder")

    def full_path(self, relative: str) -> str:
        """``data_prefix`` joined to a listed folder (``suffix`` names the files inside it)."""
        return os.path.join(self.data_prefix, relative)

    def parse_line(self, line: str, where: str) -> Dict[str, Any]:
        parts = split_fields(line, 3)
        if parts is None:
            raise ConfigError(f"{where}: expected '<frame_dir> <num_frames> <label>'")
        try:
            frames_len = int(parts[1])
        except ValueError as err:
            raise ConfigError(f"{where}: frame count {parts[1]!r} is not an integer") from err
        # 0 is a data problem (a failed extraction), not a config one: FrameDecoder reports it
        # per sample, so one empty folder does not stop a run.
        if frames_len < 0:
            raise ConfigError(f"{where}: frame count {frames_len} is negative")
        frame_dir = self.full_path(parts[0])
        return {"filename": frame_dir, "frame_dir": frame_dir, "frames_len": frames_len,
                "suffix": self.suffix, "label": parse_label(parts[2], where, self.num_classes)}
