"""CPU flag detection for bf16."""
from paddlevideo.deploy.cpu import bf16_instruction_set, cpu_flags


def test_cpu_flags_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16\n\nprocessor\t: 1\n"
                    "flags\t\t: fpu\n", encoding="utf-8")
    flags = cpu_flags(str(info))
    assert {"avx2", "avx512_bf16"} <= flags
    assert bf16_instruction_set(flags) == "avx512_bf16"
    assert bf16_instruction_set({"amx_bf16", "avx512_bf16"}) == "amx_bf16"
    assert bf16_instruction_set({"avx2", "avx512f"}) is None
    assert cpu_flags(str(tmp_path / "missing")) == set()
