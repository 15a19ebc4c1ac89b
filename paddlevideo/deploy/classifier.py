"""Video in, top-k classes out: the config's test pipeline, a :class:`Predictor`, softmax.

Preprocessing is ``Compose(cfg.PIPELINE.test)`` -- the very code ``main.py --test`` runs through
``VideoDataset`` -- so an exported model scores a video exactly as testing does. Videos that cannot
be decoded become :class:`Failure` entries and the rest of the batch goes on. A video whose later
frames do not decode is scored from its readable frames, and its :class:`Prediction` carries a
``warning`` saying so (see :func:`truncation_warning`).
"""
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import ConfigError
from ..loader.errors import DecodeError
from ..loader.pipelines import Compose
from ..loader.pipelines.sample import readable_frames
from ..utils.logger import get_logger
from .input_shape import inference_input_shape
from .labels import LabelMap
from .predictor import Predictor
from .timing import StageTimer

logger = get_logger()


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``[B, K]`` logits (computed in float64, returned as float32)."""
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return (exp / exp.sum(axis=-1, keepdims=True)).astype(np.float32)


def top_k(probs: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest entries of a ``[K]`` vector, best first (ties: lower index first)."""
    k = min(k, probs.shape[-1])
    return np.argsort(-probs, kind="stable")[:k]


def truncation_warning(path: str, results: Dict[str, Any]) -> Optional[str]:
    """What to tell the user when the test pipeline sampled ``path`` from part of its frames.

    Why: a truncated download or a damaged file often decodes partly, and a prediction from its first
    frames looks as confident as any other (``readable_frames`` compares the header with what read).

    Returns:
        The warning, or None when the clip was sampled from the frames the header promises.
    """
    short = readable_frames(results)
    if short is None:
        return None
    readable, promised = short
    return (f"{path}: truncated or damaged video: its header promises {promised} frames but only "
            f"{readable} were readable; the scores come from those frames only")


@dataclass
class Prediction:
    """Scores of one video: ``probs`` is the softmax over all classes, ``classes`` the top-k ids."""

    file: str
    classes: List[int]
    scores: List[float]
    names: List[Optional[str]]
    probs: np.ndarray = field(repr=False)
    warning: Optional[str] = None  # set when the clip came from part of the video only

    def to_dict(self) -> Dict:
        return {"file": self.file,
                "top_k": [{"class": c, "score": s, "label": n}
                          for c, s, n in zip(self.classes, self.scores, self.names)],
                "scores": [float(p) for p in self.probs],
                "warning": self.warning}

    def lines(self) -> List[str]:
        """PaddleVideo's console format (``top-K class: [c1 c2 ...]``, ``top-K score: [s1 s2 ...]``),
        plus the class names when a label file was given and the warning (before the scores it
        qualifies) when there is one."""
        out = [f"Current video file: {self.file}"]
        if self.warning is not None:
            out.append(f"\twarning: {self.warning}")
        k = len(self.classes)
        out.append(f"\ttop-{k} class: [{' '.join(str(c) for c in self.classes)}]")
        out.append(f"\ttop-{k} score: [{' '.join(f'{s:.6f}' for s in self.scores)}]")
        if any(name is not None for name in self.names):
            out.append(f"\ttop-{k} label: [{', '.join(str(n) for n in self.names)}]")
        return out


@dataclass
class Failure:
    """A video that could not be decoded, and why."""

    file: str
    error: str

    def to_dict(self) -> Dict:
        return {"file": self.file, "error": self.error}

    def lines(self) -> List[str]:
        return [f"Current video file: {self.file}", f"\terror: {self.error}"]


Waiting = Tuple[str, Optional[str]]  # (path, truncation warning) of a decoded video in the batch


class TestClipReader:
    """Video path -> the exported model's input for one video, through ``PIPELINE.test``.

    Args:
        cfg: the whole config (``PIPELINE.test`` and ``INFERENCE`` are used).
        views: clips of this many views (default ``INFERENCE.views``); when the pipeline makes more
            (e.g. one view for benchmarks of a 30-view config), the middle ``views`` are kept.
    """

    def __init__(self, cfg: Dict, views: Optional[int] = None):
        if "test" not in cfg.get("PIPELINE", {}):
            raise ConfigError("PIPELINE: no 'test' entry; predict.py preprocesses with the test pipeline")
        self.pipeline = Compose(cfg["PIPELINE"]["test"])
        self.clip_shape = inference_input_shape(cfg, views)[1:]
        self.select_views = views is not None

    def __call__(self, path: str) -> Tuple[np.ndarray, Optional[str]]:
        """float32 ``[C, V*T, H, W]`` and the :func:`truncation_warning` (None for a video that
        decoded in full).

        Raises:
            DecodeError: the video cannot be decoded.
            ConfigError: the pipeline output does not match the exported input (INFERENCE section).
        """
        results = self.pipeline({"filename": path, "label": 0})
        imgs = np.asarray(results["imgs"], dtype=np.float32)
        frames = self.clip_shape[1]
        if self.select_views and imgs.shape[1] > frames and imgs.shape[1] % frames == 0:
            start = (imgs.shape[1] - frames) // 2 // frames * frames  # whole views around the middle
            imgs = imgs[:, start:start + frames]
        if list(imgs.shape) != self.clip_shape:
            raise ConfigError(f"PIPELINE.test gives clips of shape {list(imgs.shape)} but the model input "
                              f"is [B, {', '.join(map(str, self.clip_shape))}] (INFERENCE num_seg x "
                              f"views, target_size); make them agree")
        return imgs, truncation_warning(path, results)


class VideoClips:
    """Videos read on demand through :class:`TestClipReader`: ``clips[i]`` is ``[C, V*T, H, W]``,
    ``clips[i:j]`` a stacked batch. Int8 calibration and checks go through many videos, and one
    30-view 224 px clip alone is 144 MB of float32, so they are never all held at once.

    Reading raises ``DecodeError`` for a video that cannot be decoded: a check on fewer clips than
    asked for would mislead.
    """

    def __init__(self, cfg: Dict, files: Sequence[str], views: Optional[int] = None):
        self.reader = TestClipReader(cfg, views)
        self.files = list(files)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: Union[int, slice]) -> np.ndarray:
        if isinstance(index, slice):
            return np.stack([self.reader(path)[0] for path in self.files[index]])
        return self.reader(self.files[index])[0]

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self.reader(path)[0] for path in self.files)


def read_clips(cfg: Dict, files: Sequence[str], views: Optional[int] = None) -> np.ndarray:
    """All of ``files`` as one array ``[N, C, V*T, H, W]`` (see :class:`VideoClips`)."""
    return VideoClips(cfg, files, views)[:]


class VideoClassifier:
    """Test pipeline + predictor + softmax/top-k.

    Args:
        cfg: the whole config (``PIPELINE.test`` and ``INFERENCE`` are used).
        predictor: an exported model behind :class:`Predictor`.
        labels: class names (optional).
        top_k: how many classes to report per video.
    """

    def __init__(self, cfg: Dict, predictor: Predictor, labels: Optional[LabelMap] = None,
                 top_k: int = 1):
        if top_k < 1:
            raise ConfigError(f"--top_k must be >= 1, got {top_k}")
        self.reader = TestClipReader(cfg)
        self.predictor = predictor
        self.labels = labels
        self.top_k = top_k
        self.clip_shape = self.reader.clip_shape
        num_classes = cfg["MODEL"]["head"].get("num_classes")
        if labels is not None and num_classes is not None and len(labels) != num_classes:
            logger.warning("label file %s has %d classes but the model has %d", labels.path,
                           len(labels), num_classes)

    def preprocess(self, path: str) -> Tuple[np.ndarray, Optional[str]]:
        """One video -> float32 ``[C, V*T, H, W]`` and its truncation warning (see
        :class:`TestClipReader`)."""
        return self.reader(path)

    def postprocess(self, files: List[str], logits: np.ndarray,
                    warnings: Optional[List[Optional[str]]] = None) -> List[Prediction]:
        probs = softmax(logits)
        warnings = warnings or [None] * len(files)
        predictions = []
        for path, row, warning in zip(files, probs, warnings):
            classes = [int(c) for c in top_k(row, self.top_k)]
            names = [self.labels.name(c) if self.labels is not None else None for c in classes]
            predictions.append(Prediction(path, classes, [float(row[c]) for c in classes], names, row,
                                          warning))
        return predictions

    def predict(self, files: Iterable[str], batch_size: int = 1,
                timer: Optional[StageTimer] = None) -> Iterator[Union[Prediction, Failure]]:
        """Results for ``files`` in input order; batches of ``batch_size`` decodable videos.

        ``timer`` (optional) records ``preprocess`` per video and ``inference``/``postprocess``
        per batch.
        """
        timer = timer or StageTimer()
        pending: List[Union[Failure, Waiting]] = []  # in input order
        clips: List[np.ndarray] = []
        for path in files:
            try:
                with timer("preprocess"):
                    imgs, warning = self.preprocess(path)
                clips.append(imgs)
                pending.append((path, warning))
            except DecodeError as err:
                logger.debug("skipping %s: %s", path, err.reason)
                pending.append(Failure(path, str(err)))
            if len(clips) == batch_size:
                yield from self._flush(pending, clips, timer)
                pending, clips = [], []
        yield from self._flush(pending, clips, timer)

    def _flush(self, pending: List[Union[Failure, Waiting]], clips: List[np.ndarray],
               timer: StageTimer) -> Iterator[Union[Prediction, Failure]]:
        predictions: List[Prediction] = []
        if clips:
            waiting = [p for p in pending if not isinstance(p, Failure)]
            with timer("inference"):
                logits = self.predictor.run(np.stack(clips))
            with timer("postprocess"):
                predictions = self.postprocess([path for path, _ in waiting], logits,
                                               [warning for _, warning in waiting])
        queue = iter(predictions)
        for item in pending:
            yield item if isinstance(item, Failure) else next(queue)
