"""What the CPU can do for low-precision inference, read from ``/proc/cpuinfo``.

Why: oneDNN runs bf16 matmuls fast on CPUs with AMX. With AVX512-BF16 alone the result depends on
the CPU: on the project's ViT-B/16 bf16 was slower than fp32 on an Intel Xeon with AMX disabled but
faster on an AMD EPYC with AVX512-BF16 (the README has the measurements). Without either, Paddle
would emulate bf16, slower than fp32. We decide up front, print the decision, and never let the user
discover it in a benchmark.
"""
from dataclasses import dataclass
from typing import Optional, Set

from ..cpu.cpuinfo import CPUINFO_PATH, feature_summary, read_cpuinfo

__all__ = ["Bf16Decision", "bf16_instruction_set", "cpu_flags", "cpu_model_name", "decide_bf16",
           "feature_summary"]

BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_flags(path: str = CPUINFO_PATH) -> Set[str]:
    """The ``flags`` of the first processor in ``path`` (empty when unreadable, e.g. not Linux)."""
    return set(read_cpuinfo(path).flags)


def cpu_model_name(path: str = CPUINFO_PATH) -> str:
    """``model name`` of the first processor, or ``'unknown CPU'``."""
    return read_cpuinfo(path).model_name


def bf16_instruction_set(flags: Optional[Set[str]] = None) -> Optional[str]:
    """``'amx_bf16'`` or ``'avx512_bf16'`` when the CPU has native bf16 support, else None."""
    flags = cpu_flags() if flags is None else flags
    return next((flag for flag in BF16_FLAGS if flag in flags), None)


@dataclass(frozen=True)
class Bf16Decision:
    """What ``--precision bf16`` on CPU runs, and the sentence that says why.

    Attributes:
        use_bf16: run oneDNN bf16 (else fp32 with oneDNN).
        isa: the native bf16 instruction set found (``amx_bf16``, ``avx512_bf16``) or None.
        note: printed to the user (the chosen path and the reason).
        may_be_slower: bf16 runs but was measured slower than fp32 on such CPUs.
    """

    use_bf16: bool
    isa: Optional[str]
    note: str
    may_be_slower: bool = False


def decide_bf16(flags: Optional[Set[str]] = None) -> Bf16Decision:
    """The CPU bf16 policy: AMX or AVX512-BF16 -> oneDNN bf16 (AVX512-BF16 alone with a warning that
    it may be slower than fp32); neither -> fp32, since emulated bf16 is only slower."""
    isa = bf16_instruction_set(flags)
    if isa == "amx_bf16":
        return Bf16Decision(True, isa, "oneDNN bf16 (CPU has AMX-BF16)")
    if isa == "avx512_bf16":
        return Bf16Decision(True, isa, "oneDNN bf16 (CPU has AVX512-BF16 but no AMX: measured 2.2x faster "
                                       "than fp32 on an AMD EPYC but slower on an Intel Xeon; compare with "
                                       "--precision fp32 --enable_mkldnn in tools/benchmark/infer.py)",
                            may_be_slower=True)
    return Bf16Decision(False, None, "fp32 with oneDNN instead of bf16: the CPU has neither AMX-BF16 nor "
                                     "AVX512-BF16, and emulated bf16 would only be slower")
