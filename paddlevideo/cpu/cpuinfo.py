"""What ``/proc/cpuinfo`` says about the CPU: vendor, model name and instruction-set flags.

Paddle-free and side-effect free: the process setup (:mod:`.plan`) and the bf16 policy
(``deploy/cpu.py``) decide from a parsed :class:`CpuInfo`, so both can be tested on recorded
``/proc/cpuinfo`` texts of other machines (``tests/fixtures/cpuinfo``).
"""
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterable, Optional

CPUINFO_PATH = "/proc/cpuinfo"
# Features that change which kernels are fast, in the order reports list them.
REPORTED_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile",
                  "amx_bf16", "amx_int8")


@dataclass(frozen=True)
class CpuInfo:
    """The first processor's entry of ``/proc/cpuinfo``.

    Attributes:
        vendor: ``vendor_id`` (``GenuineIntel``, ``AuthenticAMD``, ...); empty off x86 (ARM has none).
        model_name: ``model name``, or ``'unknown CPU'``.
        flags: x86 ``flags`` or ARM ``Features``.
    """

    vendor: str = ""
    model_name: str = "unknown CPU"
    flags: FrozenSet[str] = field(default_factory=frozenset)

    @property
    def is_x86(self) -> bool:
        """x86 CPUs (and only they) report a ``vendor_id`` and the ``sse2`` flag."""
        return bool(self.vendor) and "sse2" in self.flags

    @property
    def is_intel(self) -> bool:
        return self.vendor == "GenuineIntel"

    def has(self, *names: str) -> bool:
        """True when every flag in ``names`` is present."""
        return all(name in self.flags for name in names)

    def describe(self) -> str:
        """``'AMD EPYC 7B13 (AuthenticAMD; avx2 fma; absent: avx512f ...)'`` for logs and reports."""
        return f"{self.model_name} ({self.vendor or 'no vendor_id'}; {feature_summary(self.flags)})"


def first_processor(text: str) -> Dict[str, str]:
    """``key: value`` pairs of the first block of ``/proc/cpuinfo`` text (blocks end at a blank line)."""
    fields: Dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    return fields


def parse_cpuinfo(text: str) -> CpuInfo:
    """:class:`CpuInfo` from ``/proc/cpuinfo`` text (empty text: an unknown CPU with no flags)."""
    fields = first_processor(text)
    flags = fields.get("flags", fields.get("Features", ""))
    return CpuInfo(vendor=fields.get("vendor_id", ""), model_name=fields.get("model name") or "unknown CPU",
                   flags=frozenset(flags.split()))


def read_cpuinfo_text(path: str = CPUINFO_PATH) -> str:
    """The text of ``path``; empty where it cannot be read (not Linux)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def read_cpuinfo(path: str = CPUINFO_PATH) -> CpuInfo:
    return parse_cpuinfo(read_cpuinfo_text(path))


def feature_summary(flags: Optional[Iterable[str]] = None) -> str:
    """``'avx2 fma avx512f; absent: avx512_bf16 amx_tile ...'`` (this CPU's when ``flags`` is None)."""
    flags = read_cpuinfo().flags if flags is None else set(flags)
    present = [f for f in REPORTED_FLAGS if f in flags]
    absent = [f for f in REPORTED_FLAGS if f not in flags]
    return f"{' '.join(present) or 'none'}; absent: {' '.join(absent) or 'none'}"
