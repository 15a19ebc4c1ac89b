"""Optimizers built from the OPTIMIZER section (PaddleVideo's key names), with optional parameter groups
(``OPTIMIZER.param_groups``: a learning-rate multiplier and a number of frozen epochs per name prefix)."""
import difflib
from dataclasses import dataclass
from typing import Dict, List, Optional, Union

import paddle
import paddle.nn as nn

from ..errors import ConfigError
from ..registry import OPTIMIZERS, check_kwargs
from ..utils.logger import get_logger

logger = get_logger()

# Parameters AdamW does not decay: biases, LayerNorm scales and the embeddings the official models list in
# ``no_weight_decay`` (ViT: pos_embed, cls_token; TimeSformer adds time_embed). ``norm1.weight`` also
# covers TimeSformer's ``temporal_norm1.weight``.
NO_DECAY_SUFFIXES = ("bias", "norm.weight", "norm1.weight", "norm2.weight", "pos_embed", "cls_token",
                     "time_embed")

# ``global`` is our short name; ``ClipGradByGlobalNorm`` is Paddle's class, the name PaddleVideo's
# configs write (PaddleVideo itself accepted any name containing "global", typos included).
GRAD_CLIP_NAMES = ("global", "ClipGradByGlobalNorm")


def grad_clip_keys(value: Optional[float] = None, clip_norm: Optional[float] = None) -> float:
    """The keys of ``OPTIMIZER.grad_clip`` besides ``name``: the maximum global norm, spelled
    ``value`` (PaddleVideo's configs) or ``clip_norm`` (Paddle's argument); exactly one of them."""
    if (value is None) == (clip_norm is None):
        raise ConfigError("OPTIMIZER.grad_clip: give the maximum norm once, as value (or clip_norm)")
    norm = value if clip_norm is None else clip_norm
    if norm <= 0:
        raise ConfigError(f"OPTIMIZER.grad_clip: the maximum norm must be positive, got {norm}")
    return float(norm)


def build_grad_clip(cfg: Optional[Dict]) -> Optional[nn.ClipGradByGlobalNorm]:
    """``{name: global | ClipGradByGlobalNorm, value: 1.0}`` -> clip by global norm (the official
    ``CLIP_GD``); None when ``cfg`` is empty.

    Raises:
        ConfigError: another name, an unknown key (with the nearest names), or no positive norm.
    """
    if not cfg:
        return None
    if not isinstance(cfg, dict) or cfg.get("name") not in GRAD_CLIP_NAMES:
        name = cfg.get("name") if isinstance(cfg, dict) else cfg
        close = difflib.get_close_matches(str(name), GRAD_CLIP_NAMES, n=1)
        hint = f" Did you mean {close}?" if close else ""
        raise ConfigError(f"OPTIMIZER.grad_clip: name must be one of {list(GRAD_CLIP_NAMES)} "
                          f"(clip by global norm), got {name!r}.{hint}")
    keys = {k: v for k, v in cfg.items() if k != "name"}
    check_kwargs(grad_clip_keys, keys, "OPTIMIZER.grad_clip")
    return nn.ClipGradByGlobalNorm(grad_clip_keys(**keys))


def check_grad_clip(kwargs: Dict) -> None:
    """The config check of an optimizer's ``grad_clip`` (registered with each optimizer)."""
    build_grad_clip(kwargs.get("grad_clip"))


def weight_decay_value(cfg: Union[None, float, Dict]) -> float:
    """Accept PaddleVideo's ``{name: L2, value: x}`` or a bare number."""
    if cfg is None:
        return 0.0
    if isinstance(cfg, dict):
        if cfg.get("name") not in ("L2", "L2Decay") or set(cfg) != {"name", "value"}:
            raise ConfigError(f"OPTIMIZER.weight_decay must be {{name: L2, value: <float>}}, got {dict(cfg)}")
        return float(cfg["value"])
    return float(cfg)


def param_group_keys(prefix: str, lr_mult: float = 1.0, freeze_epochs: int = 0) -> Dict:
    """The keys of one ``OPTIMIZER.param_groups`` entry.

    Args:
        prefix: parameters whose structured name starts with it (``backbone.``,
            ``backbone.token_selection.``, ``head.``); a parameter belongs to the group with the
            longest matching prefix, and to no group (multiplier 1) if none matches.
        lr_mult: multiplier of the scheduled learning rate for the group (0 keeps it fixed).
        freeze_epochs: the group is not updated during the first ``freeze_epochs`` epochs, then
            trains at ``lr_mult``.
    """
    return {"prefix": prefix, "lr_mult": lr_mult, "freeze_epochs": freeze_epochs}


@dataclass(frozen=True)
class ParamGroup:
    prefix: str
    lr_mult: float
    freeze_epochs: int


class ParamGroups:
    """Learning-rate multipliers and epoch-wise freezing by parameter-name prefix.

    Paddle reads a parameter's multiplier from ``optimize_attr['learning_rate']`` at every step and
    leaves parameters with ``need_clip`` False out of global-norm clipping, so :meth:`set_epoch` only
    sets those two attributes. A frozen parameter has multiplier 0: its update, decoupled weight decay
    included, is exactly zero, and its gradient does not count in the clipping norm (so the trained
    groups are clipped as if alone). Its gradient is still computed and enters the optimizer's moments:
    freezing with ``stop_gradient`` instead would save that backward work, but breaks
    ``paddle.DataParallel`` (its gradient buckets are fixed when it wraps the model) and custom
    backward functions that assume trainable weights. The state is a function of the epoch alone, so a
    resumed run is in the right phase. The STTS recipe is
    ``[{prefix: backbone., lr_mult: 0.1, freeze_epochs: 2}, {prefix: head., ...},
    {prefix: backbone.token_selection., lr_mult: 1.0}]``: the scorer alone first, then everything.

    Raises:
        ConfigError: not a list of mappings, unknown keys, a prefix given twice or matching no
            parameter, a negative multiplier or number of frozen epochs.
    """

    def __init__(self, groups: Optional[List[Dict]], model: nn.Layer):
        self.groups = [self.parse(entry, i) for i, entry in enumerate(self.entries(groups))]
        prefixes = [g.prefix for g in self.groups]
        if len(set(prefixes)) != len(prefixes):
            raise ConfigError(f"OPTIMIZER.param_groups: a prefix is given twice: {prefixes}")
        names = [name for name, _ in model.named_parameters()]
        for group in self.groups:
            if not any(name.startswith(group.prefix) for name in names):
                close = difflib.get_close_matches(group.prefix, {n.rsplit(".", 1)[0] + "." for n in names}, n=3)
                raise ConfigError(f"OPTIMIZER.param_groups: prefix {group.prefix!r} matches no parameter of the "
                                  f"model. Close names: {close}")
        self.members = [(p, self.group_of(name)) for name, p in model.named_parameters()]

    @staticmethod
    def entries(groups) -> List:
        if groups is None:
            return []
        if not isinstance(groups, (list, tuple)):
            raise ConfigError(f"OPTIMIZER.param_groups must be a list of {{prefix, lr_mult, freeze_epochs}} "
                              f"mappings, got {groups!r}")
        return list(groups)

    @staticmethod
    def parse(entry, index: int) -> ParamGroup:
        where = f"OPTIMIZER.param_groups[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping like {{prefix: backbone., lr_mult: 0.1}}, got {entry!r}")
        check_kwargs(param_group_keys, entry, where)
        group = ParamGroup(**param_group_keys(**entry))
        if not group.prefix or group.lr_mult < 0 or group.freeze_epochs < 0:
            raise ConfigError(f"{where}: need a non-empty prefix, lr_mult >= 0 and freeze_epochs >= 0, got {entry}")
        return group

    def group_of(self, name: str) -> Optional[ParamGroup]:
        """The group with the longest prefix of ``name``, or None."""
        matches = [g for g in self.groups if name.startswith(g.prefix)]
        return max(matches, key=lambda g: len(g.prefix)) if matches else None

    def set_epoch(self, epoch: int, log: bool = True) -> None:
        """Apply the multipliers and freeze (or unfreeze) the groups for ``epoch`` (0-based)."""
        for param, group in self.members:
            if group is not None:
                frozen = epoch < group.freeze_epochs
                param.optimize_attr["learning_rate"] = 0.0 if frozen else group.lr_mult
                param.need_clip = not frozen
        if log and any(g.freeze_epochs for g in self.groups):
            logger.info("epoch %d: parameter groups frozen: %s", epoch + 1, self.frozen(epoch) or "none")

    def frozen(self, epoch: int) -> List[str]:
        return [g.prefix for g in self.groups if epoch < g.freeze_epochs]


def build_param_groups(cfg: Dict, model: nn.Layer) -> ParamGroups:
    """The :class:`ParamGroups` of the OPTIMIZER section (no groups when it has no ``param_groups``)."""
    return ParamGroups(cfg.get("param_groups"), model)


@OPTIMIZERS.register(validate=check_grad_clip)
def Momentum(learning_rate, model: nn.Layer, momentum: float = 0.9, use_nesterov: bool = False,
             weight_decay: Union[None, float, Dict] = None, grad_clip: Optional[Dict] = None,
             param_groups: Optional[List[Dict]] = None):
    """SGD with (Nesterov) momentum and L2 weight decay, the official TokShift optimiser.
    ``param_groups``: see :class:`ParamGroups` (applied for epoch 0)."""
    ParamGroups(param_groups, model).set_epoch(0, log=False)
    decay = weight_decay_value(weight_decay)
    return paddle.optimizer.Momentum(
        learning_rate=learning_rate, momentum=momentum, parameters=model.parameters(),
        use_nesterov=use_nesterov, weight_decay=paddle.regularizer.L2Decay(decay) if decay else None,
        grad_clip=build_grad_clip(grad_clip))


@OPTIMIZERS.register(validate=check_grad_clip)
def AdamW(learning_rate, model: nn.Layer, beta1: float = 0.9, beta2: float = 0.999,
          epsilon: float = 1e-8, weight_decay: Union[None, float, Dict] = 0.05,
          grad_clip: Optional[Dict] = None, param_groups: Optional[List[Dict]] = None):
    """AdamW with decoupled weight decay, not applied to biases, norms and embeddings (``NO_DECAY_SUFFIXES``).
    ``param_groups``: see :class:`ParamGroups` (applied for epoch 0)."""
    ParamGroups(param_groups, model).set_epoch(0, log=False)
    names = {p.name: n for n, p in model.named_parameters()}
    return paddle.optimizer.AdamW(
        learning_rate=learning_rate, beta1=beta1, beta2=beta2, epsilon=epsilon,
        parameters=model.parameters(), weight_decay=weight_decay_value(weight_decay),
        apply_decay_param_fun=lambda pname: not names.get(pname, "").endswith(NO_DECAY_SUFFIXES),
        grad_clip=build_grad_clip(grad_clip))
