"""Atomic writes leave either the old file or the complete new one, never a partial file."""
import os

import pytest

from paddlevideo.utils.atomic import atomic_path, write_json_atomic


def test_failed_write_keeps_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "results.json"
    write_json_atomic(str(target), {"top1": 0.5})
    with pytest.raises(RuntimeError):
        with atomic_path(str(target)) as tmp:
            with open(tmp, "w") as f:
                f.write("{half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == '{\n  "top1": 0.5\n}\n'
    assert os.listdir(tmp_path) == ["results.json"]


def test_creates_missing_directories(tmp_path):
    write_json_atomic(str(tmp_path / "a" / "b.json"), [1])
    assert (tmp_path / "a" / "b.json").read_text() == "[\n  1\n]\n"
