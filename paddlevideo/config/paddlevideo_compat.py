"""PaddleVideo config spellings our schema does not hold, settled before ``check_config``.

Almost every key of PaddleVideo's own configs is part of our schema -- a constructor keyword,
checked like any other key (``MODEL.runtime_cfg``, ``VideoDecoder.backend``/``num_seg``,
``Normalization.tensor_shape``, ``MultiCenterCrop``, ``grad_clip: {name: ClipGradByGlobalNorm}``,
...). ``apply_paddlevideo_compat`` settles the rest, each by one rule:

* Inert keys configure nothing here. They are accepted only with values that describe what our
  code does, removed from the config, and named in one log line:
  ``INFERENCE.name`` (PaddleVideo's inference-helper class; ``predict.py`` preprocesses with
  ``PIPELINE.test``), ``PIPELINE.<mode>.decode.mode`` (``VideoDecoder``; PaddleVideo's pyav
  decoder chose a TimeSformer time window with it, train/test sampling is ``Sampler.valid_mode``
  here) and ``MODEL.backbone.attention_type: space_only`` (``TokenShiftVisionTransformer``
  attends over space only; the token shift mixes time).
* ``Sampler`` with ``dense_sample: True`` and none of our dense keys (``dense_stride``,
  ``num_clips``, ``clip_starts``) means PaddleVideo's dense sampling: ``num_seg`` frames at stride
  ``64 // num_seg``; in training from a random start drawn as ``clip_starts: official`` draws it,
  in validation 10 clips spread from the first to the last start (``clip_starts: even``).
* ``Sampler`` with ``linspace_sample: True`` after a ``VideoDecoder`` with ``backend: pyav`` means
  PaddleVideo's TimeSformer window: ``num_seg`` frames spread over ``sampling_rate * num_seg /
  target_fps * fps`` frames (decoder keys, defaults 32, 8 and 30), random in train and valid, from
  the start in test. Here ``linspace_window: sampling_rate * num_seg`` (the decoder's keys are moved
  there): the window is counted at the video's own frame rate, so it spans the same time as
  PaddleVideo's for 30 fps video (K400's usual rate) and 20% more for 25 fps video. With the other
  backends PaddleVideo spread the frames over the whole video, as ``linspace_window`` None does.
* ``INFERENCE.views`` left out: the number of views ``PIPELINE.test`` produces (PaddleVideo's
  export hard-coded 3 for TokShift, its ``MultiCenterCrop``).

A rule steps aside when the constructor it concerns accepts the key itself (e.g. a backbone with
a real ``attention_type``). Any other key still meets ``check_config``, so a typo in a PaddleVideo
config fails with the nearest names as in ours.
"""
import difflib
import inspect
import logging
from typing import Callable, Collection, Dict, Iterator, List, Optional, Tuple

from ..errors import ConfigError
from ..registry import BACKBONES, PIPELINES
from .schema import INFERENCE_KEYS, constructor_keys

logger = logging.getLogger("paddlevideo")

DECODE_MODES = ("train", "valid", "test")
PADDLEVIDEO_DENSE_SPAN = 64  # frames a PaddleVideo dense clip spans: stride = 64 // num_seg
PADDLEVIDEO_DENSE_VALID_CLIPS = 10
OUR_DENSE_KEYS = ("dense_stride", "num_clips", "clip_starts")
# PaddleVideo's VideoDecoder defaults for its pyav TimeSformer window
PADDLEVIDEO_WINDOW_DEFAULTS = {"sampling_rate": 32, "num_seg": 8, "target_fps": 30}


def _pipelines(cfg: Dict) -> Iterator[Tuple[str, Dict]]:
    pipelines = cfg.get("PIPELINE")
    for mode, pipeline in (pipelines.items() if isinstance(pipelines, dict) else ()):
        if isinstance(pipeline, dict):
            yield mode, pipeline


def take_inert(mapping: Dict, key: str, accepted: Collection[str], where: str,
               allowed: Optional[Tuple] = None, why: str = "") -> bool:
    """Remove PaddleVideo's inert ``key`` from ``mapping`` (True if it was there).

    ``accepted`` are the keys the component takes itself; if ``key`` is one of them it is not
    inert and is left alone. A key of ``mapping`` that is not accepted but close to ``key`` is a
    typo of it and fails here with that name (``check_config`` could only suggest the accepted
    keys). ``allowed``: the values that describe what our code does (None: any string); ``why``
    is added to the error for another value.

    Raises:
        ConfigError: a near miss of ``key``, or a value outside ``allowed``.
    """
    if key in accepted:
        return False
    for other in mapping:
        if other != key and other not in accepted and difflib.get_close_matches(str(other), [key], n=1):
            raise ConfigError(f"{where}: unknown key '{other}'. Did you mean ['{key}'] (a PaddleVideo "
                              f"key, accepted without effect)?")
    if key not in mapping:
        return False
    value = mapping[key]
    if (allowed is None and not isinstance(value, str)) or (allowed is not None and value not in allowed):
        expected = "a string" if allowed is None else f"one of {list(allowed)}"
        raise ConfigError(f"{where}.{key}: expected {expected}, got {value!r}{why}")
    del mapping[key]
    return True


def inert_inference_name(cfg: Dict) -> Iterator[str]:
    """PaddleVideo's inference-helper class; predict.py preprocesses with PIPELINE.test."""

    inference = cfg.get("INFERENCE")
    if isinstance(inference, dict) and take_inert(inference, "name", INFERENCE_KEYS, "INFERENCE"):
        yield "INFERENCE.name"


def inert_decode_mode(cfg: Dict) -> Iterator[str]:
    """PaddleVideo's pyav decoder picked a TimeSformer time window by mode; here the Sampler's
    valid_mode decides between random and fixed positions."""
    for mode, pipeline in _pipelines(cfg):
        decode = pipeline.get("decode")
        accepted = constructor_keys(PIPELINES, decode.get("name")) if isinstance(decode, dict) else None
        if (accepted is not None and decode["name"] == "VideoDecoder"
                and take_inert(decode, "mode", accepted | {"name"}, f"PIPELINE.{mode}.decode", DECODE_MODES)):
            yield f"PIPELINE.{mode}.decode.mode"


def inert_attention_type(cfg: Dict) -> Iterator[str]:
    """TokenShiftVisionTransformer attends over space only; its token shift mixes time."""
    model = cfg.get("MODEL")
    backbone = model.get("backbone") if isinstance(model, dict) else None
    accepted = constructor_keys(BACKBONES, backbone.get("name")) if isinstance(backbone, dict) else None
    if (accepted is not None and backbone["name"] == "TokenShiftVisionTransformer"
            and take_inert(backbone, "attention_type", accepted | {"name"}, "MODEL.backbone",
                           ("space_only",), why=" (TokenShiftVisionTransformer attends over space "
                                                "only; its token shift mixes time)")):
        yield "MODEL.backbone.attention_type"


INERT_RULES: List[Callable[[Dict], Iterator[str]]] = [
    inert_inference_name, inert_decode_mode, inert_attention_type]
# The rules that read MODEL's constructors (skipped when MODEL is not checked: no model code imported).
MODEL_RULES = (inert_attention_type,)


def dense_sampling(cfg: Dict) -> Iterator[str]:
    """PaddleVideo's ``dense_sample`` in our Sampler keys (see the module docstring)."""
    for mode, pipeline in _pipelines(cfg):
        sample = pipeline.get("sample")
        if (not isinstance(sample, dict) or sample.get("name") != "Sampler"
                or sample.get("dense_sample") is not True or any(k in sample for k in OUR_DENSE_KEYS)):
            continue
        num_seg = sample.get("num_seg")
        if type(num_seg) is not int or not 1 <= num_seg <= PADDLEVIDEO_DENSE_SPAN:
            continue  # the Sampler reports a bad num_seg; PaddleVideo's stride would be 0 above 64
        keys = {"dense_stride": PADDLEVIDEO_DENSE_SPAN // num_seg}
        if sample.get("valid_mode"):
            keys.update(num_clips=PADDLEVIDEO_DENSE_VALID_CLIPS, clip_starts="even")
        else:
            keys.update(clip_starts="official")
        sample.update(keys)
        yield f"PIPELINE.{mode}.sample {keys}"


def pipeline_views(pipeline: Dict) -> Optional[int]:
    """Views per video a pipeline config produces: the Sampler's ``num_clips`` times every
    transform op's ``VIEW_FACTOR``; None if an op name is unknown (``check_config`` reports it)."""
    views = 1
    sample = pipeline.get("sample")
    if isinstance(sample, dict) and sample.get("name") in PIPELINES:
        params = inspect.signature(PIPELINES.get(sample["name"])).parameters
        if "num_clips" in params:
            views = sample.get("num_clips", params["num_clips"].default)
    for item in pipeline.get("transform") or []:
        name = next(iter(item)) if isinstance(item, dict) and len(item) == 1 else None
        if name not in PIPELINES:
            return None
        views *= getattr(PIPELINES.get(name), "VIEW_FACTOR", 1)
    return views if isinstance(views, int) else None


def inference_views(cfg: Dict) -> Iterator[str]:
    inference, pipelines = cfg.get("INFERENCE"), dict(_pipelines(cfg))
    if not isinstance(inference, dict) or "views" in inference or "test" not in pipelines:
        return
    test = pipelines["test"]
    views = pipeline_views(test)
    if views is not None and views != 1:
        inference["views"] = views
        yield f"INFERENCE.views {views} (the views of PIPELINE.test)"


def linspace_window(cfg: Dict) -> Iterator[str]:
    """PaddleVideo's pyav TimeSformer window as ``Sampler.linspace_window`` (see the module docstring)."""
    for mode, pipeline in _pipelines(cfg):
        decode, sample = pipeline.get("decode"), pipeline.get("sample")
        if not (isinstance(decode, dict) and decode.get("name") == "VideoDecoder" and isinstance(sample, dict)
                and sample.get("name") == "Sampler" and sample.get("linspace_sample") is True):
            continue
        accepted = constructor_keys(PIPELINES, "VideoDecoder") | {"name"}
        window_keys = {key: decode.pop(key) for key in ("sampling_rate", "target_fps")
                       if key in decode and key not in accepted}
        if decode.get("backend") != "pyav" or "linspace_window" in sample:
            if window_keys:
                yield f"PIPELINE.{mode}.decode {sorted(window_keys)} unused (no pyav window)"
            continue
        values = {**PADDLEVIDEO_WINDOW_DEFAULTS, **window_keys, "num_seg": decode.get("num_seg", 8)}
        for key, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"PIPELINE.{mode}.decode.{key}: expected a positive number, got {value!r}")
        sample["linspace_window"] = values["sampling_rate"] * values["num_seg"]
        yield f"PIPELINE.{mode}.sample linspace_window {sample['linspace_window']} (PaddleVideo's pyav window)"


MEANING_RULES: List[Callable[[Dict], Iterator[str]]] = [dense_sampling, linspace_window, inference_views]


def apply_paddlevideo_compat(cfg: Dict, model: bool = True) -> List[str]:
    """Settle PaddleVideo's inert keys and implicit settings in ``cfg`` (in place).

    ``model=False`` skips the rules of ``MODEL`` (for a config whose MODEL section is not checked,
    as for a prediction with an exported model).

    Logs one warning line naming the keys accepted without effect, and one info line with the
    settings filled in for PaddleVideo's implicit meanings.

    Returns:
        The dotted paths of the inert keys removed.

    Raises:
        ConfigError: an inert key with a value that does not describe what our code does.
    """
    rules = [rule for rule in INERT_RULES if model or rule not in MODEL_RULES]
    inert = [path for rule in rules for path in rule(cfg)]
    filled = [note for rule in MEANING_RULES for note in rule(cfg)]
    if inert:
        logger.warning("PaddleVideo config keys accepted without effect: %s", ", ".join(inert))
    if filled:
        logger.info("PaddleVideo config meanings filled in: %s", "; ".join(filled))
    return inert
