"""The CPU setup's decisions on recorded ``/proc/cpuinfo`` of other machines (``tests/fixtures/cpuinfo``,
sources in its SOURCES.md), other environments, affinities and quotas: a pure function, no process."""
from pathlib import Path

import pytest

from paddlevideo.cpu.cpuinfo import parse_cpuinfo
from paddlevideo.cpu.plan import plan_cpu_setup

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cpuinfo"
# recorded CPU -> the MKL_DEBUG_CPU_TYPE it must get (None: leave MKL's own dispatch)
MKL_TYPES = {
    "intel_sapphire_rapids_amx": None,
    "intel_cascade_lake_avx512": None,
    "intel_no_avx512": None,
    "intel_knl_avx512f_no_bw_dq_vl": None,
    "amd_zen2_epyc": "5",
    "amd_zen3_epyc": "5",
    "amd_zen4_epyc": "7",
    "amd_zen5": "7",
    "arm_aarch64": None,
}


def cpuinfo(name: str) -> str:
    return (FIXTURES / f"{name}.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(MKL_TYPES))
def test_mkl_cpu_type_per_recorded_cpu(name):
    plan = plan_cpu_setup(cpuinfo(name), {}, affinity=4, quota=None)
    assert plan.env.get("MKL_DEBUG_CPU_TYPE") == MKL_TYPES[name]
    assert plan.env["OMP_NUM_THREADS"] == "4" and plan.cpu_flags == {"FLAGS_use_stride_kernel": False}
    assert "FLAGS_use_stride_kernel" not in plan.env  # set when the model runs on CPU, not at import
    assert "4 threads" in plan.summary() and plan.cpu.model_name in plan.summary()


def test_recorded_cpus_parse():
    zen4, arm = parse_cpuinfo(cpuinfo("amd_zen4_epyc")), parse_cpuinfo(cpuinfo("arm_aarch64"))
    assert zen4.vendor == "AuthenticAMD" and zen4.model_name.startswith("AMD EPYC 9654")
    assert zen4.has("avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_bf16") and zen4.is_x86
    assert not arm.is_x86 and "asimd" in arm.flags
    spr = parse_cpuinfo(cpuinfo("intel_sapphire_rapids_amx"))
    assert spr.is_intel and spr.has("amx_tile", "amx_bf16")


@pytest.mark.parametrize("missing", ["avx512f", "avx512bw", "avx512dq", "avx512vl"])
def test_avx512_type_needs_all_four_flags(missing):
    """Type 7 without one of them dies with an illegal instruction: fall back to AVX2."""
    text = cpuinfo("amd_zen4_epyc").replace(f" {missing} ", " ")
    assert parse_cpuinfo(text).has("avx2") and not parse_cpuinfo(text).has(missing)
    assert plan_cpu_setup(text, {}, 2, None).env["MKL_DEBUG_CPU_TYPE"] == "5"


def test_non_intel_without_avx2_keeps_sse():
    text = cpuinfo("amd_zen2_epyc").replace(" avx2 ", " ")
    plan = plan_cpu_setup(text, {}, 2, None)
    assert "MKL_DEBUG_CPU_TYPE" not in plan.env and "without AVX2" in plan.blas


def test_unreadable_cpuinfo_sets_threads_only():
    plan = plan_cpu_setup("", {}, 2, None)
    assert plan.env == {"OMP_NUM_THREADS": "2"} and plan.cpu_flags == {"FLAGS_use_stride_kernel": False}
    assert plan.cpu.model_name == "unknown CPU"


@pytest.mark.parametrize("affinity, quota, ranks, threads", [
    (64, None, None, 64),       # a whole server
    (64, 4.0, None, 4),         # a container with --cpus 4
    (64, 2.5, None, 3),         # a fractional quota rounds up
    (8, None, "2", 4),          # 2 data-parallel ranks on this host share the cores
    (8, 4.0, "8", 1),           # never fewer than one thread
    (6, None, "4", 1),
])
def test_threads_from_affinity_quota_and_ranks(affinity, quota, ranks, threads):
    environ = {} if ranks is None else {"PADDLE_LOCAL_SIZE": ranks}
    plan = plan_cpu_setup(cpuinfo("intel_cascade_lake_avx512"), environ, affinity, quota)
    assert plan.threads == threads and plan.env["OMP_NUM_THREADS"] == str(threads)


def test_the_users_variables_win():
    environ = {"OMP_NUM_THREADS": "3", "MKL_DEBUG_CPU_TYPE": "4", "FLAGS_use_stride_kernel": "1"}
    plan = plan_cpu_setup(cpuinfo("amd_zen4_epyc"), environ, 64, None)
    assert plan.env == {} and plan.cpu_flags == {} and plan.threads == 3
    assert "OMP_NUM_THREADS=3 set by the user" in plan.summary()
    assert "MKL_DEBUG_CPU_TYPE=4 set by the user" in plan.summary()
    only_mkl_threads = plan_cpu_setup(cpuinfo("amd_zen3_epyc"), {"MKL_NUM_THREADS": "5"}, 64, None)
    assert "OMP_NUM_THREADS" not in only_mkl_threads.env and only_mkl_threads.threads == 5


def test_an_explicit_thread_count_wins_over_the_environment():
    plan = plan_cpu_setup(cpuinfo("amd_zen3_epyc"), {"OMP_NUM_THREADS": "8"}, 64, None, threads=2)
    assert plan.env["OMP_NUM_THREADS"] == "2" and "set by the caller" in plan.summary()


@pytest.mark.parametrize("value", ["0", "off", "false", "No"])
def test_opt_out(value):
    plan = plan_cpu_setup(cpuinfo("amd_zen4_epyc"), {"PADDLEVIDEO_CPU_SETUP": value}, 64, None)
    assert not plan.enabled and plan.env == {} and plan.cpu_flags == {}
    assert plan.summary().startswith("CPU setup off")
