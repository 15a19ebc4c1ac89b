"""CPU flag detection and the bf16 policy, with faked CPU flags."""
import pytest

from paddlevideo.deploy import cpu
from paddlevideo.deploy.cpu import bf16_instruction_set, cpu_flags, cpu_model_name, decide_bf16, feature_summary

AMX = {"avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8"}
AVX512_BF16 = {"avx2", "avx512f", "avx512_vnni", "avx512_bf16"}
NEITHER = {"avx2", "avx512f", "avx512_vnni"}


def test_cpu_flags_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Test CPU 9000\nflags\t\t: fpu avx2 avx512f avx512_bf16\n\n"
                    "processor\t: 1\nflags\t\t: fpu\n", encoding="utf-8")
    flags = cpu_flags(str(info))
    assert {"avx2", "avx512_bf16"} <= flags
    assert cpu_model_name(str(info)) == "Test CPU 9000"
    assert bf16_instruction_set(flags) == "avx512_bf16"
    assert bf16_instruction_set({"amx_bf16", "avx512_bf16"}) == "amx_bf16"
    assert bf16_instruction_set({"avx2", "avx512f"}) is None
    assert cpu_flags(str(tmp_path / "missing")) == set()
    assert cpu_model_name(str(tmp_path / "missing")) == "unknown CPU"


@pytest.mark.parametrize("flags, use_bf16, isa, slower, words", [
    (AMX, True, "amx_bf16", False, "AMX-BF16"),
    (AVX512_BF16, True, "avx512_bf16", True, "slower on an Intel Xeon"),
    (NEITHER, False, None, False, "fp32 with oneDNN instead of bf16"),
])
def test_bf16_policy(flags, use_bf16, isa, slower, words):
    decision = decide_bf16(flags)
    assert (decision.use_bf16, decision.isa, decision.may_be_slower) == (use_bf16, isa, slower)
    assert words in decision.note


def test_bf16_policy_reads_this_machine_by_default(monkeypatch):
    monkeypatch.setattr(cpu, "cpu_flags", lambda path="/proc/cpuinfo": set(NEITHER))
    assert not decide_bf16().use_bf16
    monkeypatch.setattr(cpu, "cpu_flags", lambda path="/proc/cpuinfo": set(AMX))
    assert decide_bf16().isa == "amx_bf16"


def test_feature_summary_names_present_and_absent_features():
    summary = feature_summary(AVX512_BF16)
    assert summary.startswith("avx2 avx512f avx512_vnni avx512_bf16; absent:")
    assert "amx_bf16" in summary.split("absent:")[1]
    assert feature_summary(set()).startswith("none; absent:")
