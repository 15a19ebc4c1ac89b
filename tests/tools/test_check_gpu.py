"""``tools/check_gpu.py``: its quick run on this CPU machine (GPU rows skipped, each saying why), and how
it judges what the commands log -- without running them."""
import json
import math
import subprocess
import sys

import paddle
import pytest
from deploy_helpers import ROOT

from tools import check_gpu

GPU_ROWS = ["AMP O1 float16", "AMP O2 float16", "AMP O1 bfloat16", "AMP O2 bfloat16",
            "attention fused vs explicit (AMP float16)", "predict.py --use_gpu fp16"]
STEP = ("[12/07 10:00:0{i}] epoch [1/1] batch {i}/2 loss: {loss} top1: 0.50000 top5: 1.00000 batch_time: 0.0{i}0s "
        "data_time: 0.001s ips: 10.00 clips/s eta: 0:00:00 lr: 0.000500\n")
VALIDATION = ("[12/07 10:00:09] epoch [1/1] validation: 8 of 8 videos scored, 0 failed: loss {loss} top1 0.2500 "
              "top5 1.0000 mean class accuracy 0.2500\n")


def training_log(losses=("1.39000", "1.38000"), val_loss="1.35178") -> str:
    return "".join(STEP.format(i=i, loss=loss) for i, loss in enumerate(losses, 1)) + VALIDATION.format(loss=val_loss)


def table_rows(stdout: str) -> dict:
    """``case -> (result, the rest of the line)`` from the printed table."""
    lines = stdout[stdout.index("case  "):].splitlines()[1:len(check_gpu.CASES) + 1]
    rows = {}
    for line in lines:
        case = next(c.name for c in check_gpu.CASES if line.startswith(c.name + "  "))
        rest = line[len(case):].split()
        rows[case] = (rest[0], " ".join(rest[1:]))
    return rows


@pytest.mark.skipif(paddle.is_compiled_with_cuda(), reason="checks the CPU-only report")
def test_quick_run_on_cpu_skips_each_gpu_row_and_says_why():
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "check_gpu.py"), "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "check_gpu: no GPU (Paddle is built without CUDA)" in proc.stdout
    rows = table_rows(proc.stdout)
    assert set(rows) == {c.name for c in check_gpu.CASES}
    assert rows["float32 train --validate"][0] == "ok" and "CPU" in rows["float32 train --validate"][1]
    assert rows["attention fused vs explicit (float32)"][0] == "ok"
    assert "prob " in rows["attention fused vs explicit (float32)"][1]
    for case in GPU_ROWS:
        assert rows[case] == ("skipped", "- - - - no GPU: Paddle is built without CUDA"), case
    assert rows["data parallel 2 x 4 clips"] == ("skipped", "- - - - needs 2 GPUs, 0 visible")
    assert rows["recompute"] == ("skipped", "- - - - not in --quick")
    assert proc.stdout.splitlines()[-1].startswith("2 ok, 0 failed, 11 skipped in ")


def test_a_good_training_run_and_its_parity():
    row = check_gpu.judge_training(check_gpu.Run(0, "check_gpu peak GPU memory: 104857600", training_log()),
                                   reference=1.35180)
    assert row.status == "ok" and row.loss == "1.3800" and row.peak_memory == "100 MiB"
    assert row.step_time == "20 ms" and row.parity == "val loss 2.0e-05"


@pytest.mark.parametrize("run, words", [
    (check_gpu.Run(2, "Traceback ...\nConfigError: no such key", training_log()), "exit 2: ConfigError"),
    (check_gpu.Run(0, "", training_log(losses=("1.39000", "nan"))), "training losses [1.39, nan]"),
    (check_gpu.Run(0, "", training_log().replace("8 of 8", "7 of 8")), "validation (7, 8"),
    (check_gpu.Run(0, "", ""), "training losses not logged"),
])
def test_a_broken_training_run_fails_its_row(run, words):
    row = check_gpu.judge_training(run)
    assert row.status == "FAIL" and words in row.note
    assert check_gpu.exit_status([check_gpu.Row("a"), row]) == 1


def test_parity_beyond_the_tolerance_fails_and_none_only_reports():
    run = check_gpu.Run(0, "", training_log(val_loss="1.36000"))
    assert check_gpu.judge_training(run, reference=1.35).status == "FAIL"
    reported = check_gpu.judge_training(run, reference=1.35, tolerance=None)
    assert reported.status == "ok" and reported.parity == "val loss 1.0e-02" and "not judged" in reported.note
    assert check_gpu.exit_status([reported, check_gpu.Row("b", "skipped")]) == 0


def test_scores_from_test_csv_and_predict_json_compare_per_video(tmp_path):
    (tmp_path / "test_predictions.csv").write_text(
        "path,label,top1_class,top1_score,top2_class,top2_score,views,readable_frames,header_frames\n"
        "/data/videos/growing/val_0000.avi,0,0,0.700000,1,0.300000,1,,\n")
    (tmp_path / "predict.json").write_text(json.dumps({"results": [
        {"file": "videos/growing/val_0000.avi", "scores": [0.7000004, 0.2999996]}]}))
    from_test = check_gpu.csv_scores(str(tmp_path / "test_predictions.csv"))
    from_predict = check_gpu.predict_scores(str(tmp_path / "predict.json"))
    assert from_test == {"growing/val_0000.avi": {0: 0.7, 1: 0.3}}
    assert math.isclose(check_gpu.max_difference(from_predict, from_test), 4e-7, rel_tol=1e-3)
    with pytest.raises(ValueError, match="different videos"):
        check_gpu.max_difference({"other/x.avi": {0: 1.0}}, from_test)
