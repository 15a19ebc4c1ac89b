"""What the CPU can do for low-precision inference, read from ``/proc/cpuinfo``.

Why: oneDNN only runs bf16 matmuls fast on CPUs with native bf16 instructions (AVX512-BF16 or AMX);
elsewhere Paddle either refuses or emulates them slower than fp32. We decide up front and say so,
instead of letting the user discover it in a benchmark.
"""
from typing import Optional, Set

BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_flags(path: str = "/proc/cpuinfo") -> Set[str]:
    """The ``flags`` of the first processor in ``path`` (empty when unreadable, e.g. not Linux)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return set(value.split())
    except OSError:
        return set()
    return set()


def bf16_instruction_set(flags: Optional[Set[str]] = None) -> Optional[str]:
    """``'amx_bf16'`` or ``'avx512_bf16'`` when the CPU has native bf16 support, else None."""
    flags = cpu_flags() if flags is None else flags
    return next((flag for flag in BF16_FLAGS if flag in flags), None)
