"""The CPU process setup as a pure decision: from the CPU, the environment and the cores this process
may use, which variables to set before Paddle is imported and which Paddle flags to set once the model
is known to run on CPU.

Why each one (measured numbers are in the README):

* **Threads.** ``import paddle`` sets ``OMP_NUM_THREADS=1`` unless it is already set, so eager CPU
  kernels use one core whatever the machine has. We set it to the cores this process may use (CPU
  affinity, cgroup quota), divided among the data-parallel ranks that ``paddle.distributed.launch``
  starts on this host (``PADDLE_LOCAL_SIZE``).
* **MKL's CPU dispatch.** Paddle's CPU wheels bundle MKL 2019.0 Update 5, which runs its SSE kernels
  on every non-Intel CPU. ``MKL_DEBUG_CPU_TYPE=5`` selects its AVX2 kernels, ``7`` its AVX-512 ones
  (only where avx512f/bw/dq/vl are all present: elsewhere it dies with an illegal instruction). MKL
  reads it at its first call, so it must be in the environment before any Paddle op. Intel CPUs get
  MKL's own dispatch; other architectures get nothing.
* **Stride kernels off** (``FLAGS_use_stride_kernel=0``): with them, ``transpose``/``reshape`` return
  strided views on CPU and the ops after them run slow generic kernels. This one is not a variable set
  at import: Paddle reads the flag at every op, so it is set when the device is chosen and only when
  that is the CPU (on GPU, turning views into copies would only cost memory and time).

A variable the user set always wins; ``PADDLEVIDEO_CPU_SETUP=0`` turns the whole setup off.
"""
from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional, Tuple

from .cpuinfo import CpuInfo, parse_cpuinfo
from .resources import usable_cores

OPT_OUT = "PADDLEVIDEO_CPU_SETUP"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
MKL_CPU_TYPE = "MKL_DEBUG_CPU_TYPE"
STRIDE_FLAG = "FLAGS_use_stride_kernel"
AVX512_FOR_MKL = ("avx512f", "avx512bw", "avx512dq", "avx512vl")
MKL_TYPE_NAMES = {"5": "AVX2", "7": "AVX-512"}


@dataclass(frozen=True)
class CpuPlan:
    """What the setup does, and why, in this process.

    Attributes:
        enabled: False when the user opted out (nothing is set).
        cpu: the CPU the decisions were made for.
        threads: eager CPU threads this process will run with (the user's value when they set one).
        threads_reason: where ``threads`` comes from, for the log line.
        blas: the BLAS path chosen, for the log line.
        env: variables to set before Paddle is imported (none of them set by the user).
        cpu_flags: Paddle flags to set when the model runs on CPU (none of them set by the user).
    """

    enabled: bool
    cpu: CpuInfo
    threads: int
    threads_reason: str
    blas: str
    env: Dict[str, str] = field(default_factory=dict)
    cpu_flags: Dict[str, bool] = field(default_factory=dict)

    def summary(self) -> str:
        """The one line logged at start."""
        if not self.enabled:
            return f"CPU setup off ({OPT_OUT}=0): Paddle's defaults apply; {self.cpu.describe()}"
        return (f"CPU setup: {self.threads} threads ({self.threads_reason}); {self.cpu.describe()}; "
                f"BLAS: {self.blas}; opt out with {OPT_OUT}=0")


def plan_cpu_setup(cpuinfo: str, environ: Mapping[str, str], affinity: int, quota: Optional[float],
                   threads: Optional[int] = None) -> CpuPlan:
    """Decide the process setup.

    Args:
        cpuinfo: the text of ``/proc/cpuinfo`` (empty where there is none).
        environ: the environment as the process has it now.
        affinity: CPUs in the process's affinity mask.
        quota: the cgroup CPU quota in CPUs, or None.
        threads: an explicit thread count (a tool's ``--threads``): it wins over the environment.
    """
    cpu = parse_cpuinfo(cpuinfo)
    user_count, user_variable = _user_threads(environ)
    if environ.get(OPT_OUT, "").strip().lower() in ("0", "false", "off", "no"):
        return CpuPlan(False, cpu, user_count or 1, "opted out", "not set")
    env: Dict[str, str] = {}
    count, reason = _threads(environ, affinity, quota, threads, user_count, user_variable)
    if threads is not None or user_variable is None:
        env["OMP_NUM_THREADS"] = str(count)
    blas, mkl_type = _mkl_dispatch(cpu, environ)
    if mkl_type is not None:
        env[MKL_CPU_TYPE] = mkl_type
    cpu_flags = {} if STRIDE_FLAG in environ else {STRIDE_FLAG: False}
    return CpuPlan(True, cpu, count, reason, blas, env, cpu_flags)


def _user_threads(environ: Mapping[str, str]) -> Tuple[Optional[int], Optional[str]]:
    """The thread count and the variable it came from, when the user set OMP/MKL_NUM_THREADS."""
    for name in THREAD_VARIABLES:
        if name in environ:
            value = environ[name].strip()
            return (int(value) if value.isdigit() and int(value) > 0 else None), name
    return None, None


def _threads(environ: Mapping[str, str], affinity: int, quota: Optional[float], threads: Optional[int],
             user_count: Optional[int], user_variable: Optional[str]) -> Tuple[int, str]:
    if threads is not None:
        return max(1, threads), "set by the caller"
    if user_variable is not None:
        return user_count or 1, f"{user_variable}={environ[user_variable]} set by the user"
    cores = usable_cores(affinity, quota)
    ranks = _local_ranks(environ)
    limits = f"affinity {affinity} CPUs" + ("" if quota is None else f", cgroup quota {quota:g} CPUs")
    if ranks > 1:
        return max(1, cores // ranks), f"{cores} usable cores ({limits}) / {ranks} ranks on this host"
    return cores, f"{cores} usable cores: {limits}"


def _local_ranks(environ: Mapping[str, str]) -> int:
    value = environ.get("PADDLE_LOCAL_SIZE", "1").strip()
    return int(value) if value.isdigit() and int(value) > 0 else 1


def _mkl_dispatch(cpu: CpuInfo, environ: Mapping[str, str]) -> Tuple[str, Optional[str]]:
    """(the BLAS path in words, the MKL_DEBUG_CPU_TYPE to set or None)."""
    if MKL_CPU_TYPE in environ:
        return f"{MKL_CPU_TYPE}={environ[MKL_CPU_TYPE]} set by the user", None
    if not cpu.is_x86:
        return "no MKL setting (not an x86 CPU)", None
    if cpu.is_intel:
        return "MKL's own dispatch (Intel CPU)", None
    if cpu.has(*AVX512_FOR_MKL):
        mkl_type = "7"
    elif cpu.has("avx2", "fma"):
        mkl_type = "5"
    else:
        return f"MKL's SSE kernels ({cpu.vendor} without AVX2)", None
    return f"MKL {MKL_TYPE_NAMES[mkl_type]} kernels ({MKL_CPU_TYPE}={mkl_type} on {cpu.vendor})", mkl_type
