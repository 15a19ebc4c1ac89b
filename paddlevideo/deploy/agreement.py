"""Does an exported model compute what the dygraph model computes? Parity and int8 agreement checks.

Every check compares a candidate ``imgs -> logits`` function with reference logits on the same input:

* fp32 formats (Paddle Inference, ONNX Runtime) must match within an absolute tolerance on random
  input (:func:`check_parity`, :class:`ParityResult`);
* a lossy int8 model is judged relative to the reference logit range, and by top-1 agreement on real
  clips (:func:`check_int8_agreement`, :class:`AgreementResult`).

Only NumPy is needed: the reference and the candidate are plain callables, so the checks run the same
for any runtime.
"""
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..utils.logger import get_logger

logger = get_logger()


@dataclass
class ParityResult:
    """Largest absolute logit difference between a candidate and the reference.

    Attributes:
        name: what was compared (``"Paddle Inference vs dygraph"``).
        batch_sizes: batch sizes of the random inputs.
        max_abs_diff: over all batches and logits.
        atol: the tolerance.
        shapes: the candidate's output shape per batch.
    """

    name: str
    batch_sizes: List[int]
    max_abs_diff: float
    atol: float
    shapes: List[Tuple[int, ...]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.max_abs_diff)) and self.max_abs_diff <= self.atol

    def message(self) -> str:
        verdict = "OK" if self.ok else f"FAILED: above the tolerance {self.atol:g}"
        return (f"{self.name}: max abs diff {self.max_abs_diff:.3e} on random input, batch sizes "
                f"{self.batch_sizes} -> {verdict}")


def random_input(input_shape: Sequence[Optional[int]], batch_size: int, seed: int = 0) -> np.ndarray:
    """Uniform [-1, 1) float32 of ``input_shape`` with its batch axis set to ``batch_size``
    (the range of clips normalised with mean 0.5, std 0.5)."""
    shape = [batch_size] + [int(d) for d in input_shape[1:]]
    return np.random.RandomState(seed).uniform(-1, 1, size=shape).astype(np.float32)


def parity_cases(reference: Callable[[np.ndarray], np.ndarray], input_shape: Sequence[Optional[int]],
                 batch_sizes: Sequence[int] = (1, 2), seed: int = 0) -> List[Tuple[np.ndarray, np.ndarray]]:
    """(random input, reference logits) per batch size, computed once and shared by every check."""
    cases = []
    for i, batch in enumerate(batch_sizes):
        imgs = random_input(input_shape, batch, seed + i)
        cases.append((imgs, reference(imgs)))
    return cases


def check_parity(name: str, candidate: Callable[[np.ndarray], np.ndarray],
                 cases: Sequence[Tuple[np.ndarray, np.ndarray]], atol: float = 1e-4) -> ParityResult:
    """Largest absolute difference between ``candidate(imgs)`` and the reference logits of ``cases``.

    A wrong output shape counts as an infinite difference.
    """
    worst, shapes = 0.0, []
    for imgs, ref in cases:
        out = candidate(imgs)
        shapes.append(tuple(out.shape))
        if out.shape != ref.shape:
            logger.error("%s: output shape %s for input %s, expected %s", name, out.shape, imgs.shape,
                         ref.shape)
            worst = float("inf")
            continue
        worst = max(worst, float(np.max(np.abs(out.astype(np.float64) - ref))))
    return ParityResult(name, [imgs.shape[0] for imgs, _ in cases], worst, atol, shapes)


@dataclass
class AgreementResult:
    """A lossy path (int8) against the reference: logit difference relative to the reference logits'
    range, and top-1 agreement.

    A fixed absolute tolerance means nothing for int8 (logits of a trained model span ~10, those of a
    random one ~0.3), so the difference is judged relative to the largest per-sample logit range
    (max - min) of the reference. Top-1 agreement is judged only on real clips: on random input the
    top-2 margin can be arbitrarily small, so a flip there says nothing about the model.

    Attributes:
        name: what was compared (``"ONNX Runtime int8 vs dygraph"``).
        inputs: ``"random input"`` or ``"N real clips"``.
        n: number of samples.
        max_abs_diff: over all samples and logits.
        logit_range: largest per-sample (max - min) of the reference logits.
        agree: samples with the same top-1 class as the reference.
        rtol: largest accepted ``max_abs_diff / logit_range``.
        min_agreement: smallest accepted fraction of agreeing samples (None: reported only).
    """

    name: str
    inputs: str
    n: int
    max_abs_diff: float
    logit_range: float
    agree: int
    rtol: float
    min_agreement: Optional[float] = None

    @property
    def rel_diff(self) -> float:
        return self.max_abs_diff / self.logit_range if self.logit_range > 0 else float("inf")

    @property
    def agreement(self) -> float:
        return self.agree / self.n if self.n else 0.0

    @property
    def ok(self) -> bool:
        close = bool(np.isfinite(self.rel_diff)) and self.rel_diff <= self.rtol
        return close and (self.min_agreement is None or self.agreement >= self.min_agreement)

    def message(self) -> str:
        rule = f"max|diff| <= {self.rtol:g} x logit range"
        if self.min_agreement is not None:
            rule += f", top-1 agreement >= {self.min_agreement:.0%}"
        verdict = "OK" if self.ok else "FAILED"
        return (f"{self.name} on {self.inputs}: max abs diff {self.max_abs_diff:.3e} "
                f"({self.rel_diff:.1%} of the logit range {self.logit_range:.3g}), top-1 agreement "
                f"{self.agree}/{self.n} ({self.agreement:.0%}) -> {verdict} ({rule})")


def logit_agreement(reference: np.ndarray, out: np.ndarray) -> Tuple[float, int]:
    """(max abs difference, number of rows with the same argmax) of two ``[B, K]`` logit arrays."""
    if out.shape != reference.shape:
        return float("inf"), 0
    diff = float(np.max(np.abs(out.astype(np.float64) - reference)))
    return diff, int(np.sum(out.argmax(-1) == reference.argmax(-1)))


def clip_cases(reference: Callable[[np.ndarray], np.ndarray], clips: Sequence[np.ndarray],
               batch_size: int = 2) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """(clips, reference logits) in batches of ``batch_size`` (``clips[i:j]`` is a stacked batch),
    read and computed one batch at a time."""
    for start in range(0, len(clips), batch_size):
        batch = clips[start:start + batch_size]
        yield batch, reference(batch)


def check_int8_agreement(name: str, candidate: Callable[[np.ndarray], np.ndarray],
                          cases: Iterable[Tuple[np.ndarray, np.ndarray]], inputs: str, rtol: float,
                          min_agreement: Optional[float] = None) -> AgreementResult:
    """How close a lossy (int8) ``candidate`` stays to the reference.

    Args:
        name: what is compared, for the message.
        candidate: ``imgs -> logits`` of the lossy model.
        cases: (input, reference logits) pairs, e.g. :func:`parity_cases` or :func:`clip_cases`.
        inputs: what the inputs are, for the message (``"random input"``, ``"8 real clips"``).
        rtol: largest accepted max|diff| as a fraction of the reference logit range.
        min_agreement: smallest accepted top-1 agreement (None: reported, not judged; random input).

    Returns:
        The :class:`AgreementResult`.
    """
    diffs, agree, n, spread = [], 0, 0, 0.0
    for imgs, ref in cases:
        diff, same = logit_agreement(ref, candidate(imgs))
        diffs.append(diff)
        agree, n = agree + same, n + len(ref)
        spread = max(spread, float(np.max(np.ptp(ref, axis=-1))))
    return AgreementResult(name, inputs, n, max(diffs), spread, agree, rtol, min_agreement)
