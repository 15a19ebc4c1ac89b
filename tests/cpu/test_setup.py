"""The CPU setup as processes see it: each case starts a fresh Python, since the setup acts at import
(threads, MKL) and when ``select_device()`` chooses the CPU (stride kernels); CUDA is hidden so that
choice is the CPU on any machine."""
import json
import os

import pytest
from cpu_setup_helpers import SETUP_VARIABLES, run_fresh_python

from paddlevideo.cpu.plan import plan_cpu_setup
from paddlevideo.cpu.resources import affinity_count, cgroup_cpu_quota

REPORT = """
import json, os, sys
{before}
import paddlevideo
import paddle
from paddlevideo.cpu import setup_cpu
from paddlevideo.utils.runtime import select_device
names = {names!r}
def stride():
    return paddle.get_flags(["FLAGS_use_stride_kernel"])["FLAGS_use_stride_kernel"]
at_import = stride()
select_device()
print(json.dumps({{"env": {{n: os.environ.get(n) for n in names}}, "summary": setup_cpu().summary(),
                   "threads": setup_cpu().threads, "stride_at_import": at_import, "stride": stride()}}))
"""


def fresh_python(env_updates=None, before: str = ""):
    """:data:`REPORT` in a fresh Python; returns (report, stderr)."""
    env_updates = {"CUDA_VISIBLE_DEVICES": "", **(env_updates or {})}
    proc = run_fresh_python(REPORT.format(before=before, names=SETUP_VARIABLES), env_updates=env_updates)
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def expected_plan(environ=None):
    with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    return plan_cpu_setup(text, environ or {}, affinity_count(), cgroup_cpu_quota())


@pytest.mark.skipif(not os.path.exists("/proc/cpuinfo"), reason="Linux only")
def test_import_applies_the_plan_for_this_machine():
    report, _ = fresh_python()
    plan = expected_plan()
    assert report["env"]["OMP_NUM_THREADS"] == str(plan.threads)
    assert report["env"]["MKL_DEBUG_CPU_TYPE"] == plan.env.get("MKL_DEBUG_CPU_TYPE")
    assert report["stride_at_import"] is True and report["stride"] is False  # Paddle's default until the CPU is chosen
    assert report["env"]["FLAGS_use_stride_kernel"] is None
    assert report["summary"] == plan.summary()
    print("\n" + report["summary"])


def test_variables_the_user_set_win():
    report, _ = fresh_python({"OMP_NUM_THREADS": "1", "MKL_DEBUG_CPU_TYPE": "2", "FLAGS_use_stride_kernel": "1"})
    assert report["env"]["OMP_NUM_THREADS"] == "1" and report["threads"] == 1
    assert report["env"]["MKL_DEBUG_CPU_TYPE"] == "2"
    assert report["stride"] is True
    assert "OMP_NUM_THREADS=1 set by the user" in report["summary"]
    assert "MKL_DEBUG_CPU_TYPE=2 set by the user" in report["summary"]


def test_opt_out_sets_nothing():
    report, _ = fresh_python({"PADDLEVIDEO_CPU_SETUP": "0"})
    assert report["env"]["MKL_DEBUG_CPU_TYPE"] is None and report["env"]["FLAGS_use_stride_kernel"] is None
    assert report["env"]["OMP_NUM_THREADS"] == "1"  # Paddle's own default
    assert report["stride"] is True
    assert report["summary"].startswith("CPU setup off (PADDLEVIDEO_CPU_SETUP=0)")


def test_ranks_on_one_host_share_the_cores():
    report, _ = fresh_python({"PADDLE_LOCAL_SIZE": "2"})
    cores = expected_plan().threads
    assert report["threads"] == max(1, cores // 2)
    if cores > 1:
        assert "/ 2 ranks on this host" in report["summary"]


def test_paddle_imported_first_is_reported_and_the_flags_still_set():
    report, stderr = fresh_python(before="import paddle")
    assert report["stride"] is False  # set through paddle.set_flags when the CPU is chosen, as always
    if expected_plan().threads > 1:
        assert "Paddle was imported before paddlevideo" in stderr
        assert report["threads"] == 1 and report["env"]["OMP_NUM_THREADS"] == "1"


def test_a_tool_can_set_the_threads_after_import():
    report, _ = fresh_python(before="import paddlevideo.cpu as c; c.setup_cpu(threads=3)")
    assert report["env"]["OMP_NUM_THREADS"] == "3" and report["threads"] == 3
    assert "3 threads (set by the caller)" in report["summary"]
