"""The cores a process may use: cgroup v1/v2 quotas read from fake cgroup trees."""
from paddlevideo.cpu.resources import cgroup_cpu_quota, usable_cores


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_cgroup_v2_quota_of_the_process_cgroup(tmp_path):
    write(tmp_path / "proc_cgroup", "0::/job/step\n")
    write(tmp_path / "fs" / "cpu.max", "max 100000\n")
    write(tmp_path / "fs" / "job" / "step" / "cpu.max", "150000 100000\n")
    assert cgroup_cpu_quota(str(tmp_path / "fs"), str(tmp_path / "proc_cgroup")) == 1.5


def test_the_smallest_quota_on_the_path_to_the_root_wins(tmp_path):
    write(tmp_path / "proc_cgroup", "0::/job/step\n")
    write(tmp_path / "fs" / "job" / "cpu.max", "300000 100000\n")
    write(tmp_path / "fs" / "job" / "step" / "cpu.max", "max 100000\n")
    write(tmp_path / "fs" / "cpu.max", "800000 100000\n")
    assert cgroup_cpu_quota(str(tmp_path / "fs"), str(tmp_path / "proc_cgroup")) == 3.0


def test_container_with_host_path_reads_the_namespace_root(tmp_path):
    """Inside a container /proc/self/cgroup may name the host's path, which does not exist there."""
    write(tmp_path / "proc_cgroup", "0::/system.slice/docker-abc.scope\n")
    write(tmp_path / "fs" / "cpu.max", "200000 100000\n")
    assert cgroup_cpu_quota(str(tmp_path / "fs"), str(tmp_path / "proc_cgroup")) == 2.0


def test_cgroup_v1_cfs_quota(tmp_path):
    write(tmp_path / "proc_cgroup", "12:memory:/docker/x\n4:cpu,cpuacct:/docker/x\n")
    write(tmp_path / "fs" / "cpu,cpuacct" / "docker" / "x" / "cpu.cfs_quota_us", "250000\n")
    write(tmp_path / "fs" / "cpu,cpuacct" / "docker" / "x" / "cpu.cfs_period_us", "100000\n")
    assert cgroup_cpu_quota(str(tmp_path / "fs"), str(tmp_path / "proc_cgroup")) == 2.5


def test_no_quota_unlimited_or_unreadable(tmp_path):
    write(tmp_path / "proc_cgroup", "4:cpu,cpuacct:/\n0::/\n")
    write(tmp_path / "fs" / "cpu,cpuacct" / "cpu.cfs_quota_us", "-1\n")
    write(tmp_path / "fs" / "cpu,cpuacct" / "cpu.cfs_period_us", "100000\n")
    write(tmp_path / "fs" / "cpu.max", "max 100000\n")
    assert cgroup_cpu_quota(str(tmp_path / "fs"), str(tmp_path / "proc_cgroup")) is None
    assert cgroup_cpu_quota(str(tmp_path / "none"), str(tmp_path / "missing")) is None
    write(tmp_path / "bad" / "cpu.max", "garbage\n")
    assert cgroup_cpu_quota(str(tmp_path / "bad"), str(tmp_path / "proc_cgroup")) is None


def test_usable_cores_is_affinity_capped_by_the_rounded_up_quota():
    assert usable_cores(8, None) == 8
    assert usable_cores(8, 2.5) == 3
    assert usable_cores(2, 16.0) == 2
    assert usable_cores(4, 0.2) == 1
