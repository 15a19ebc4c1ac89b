"""export_model.py and predict.py with PaddleVideo's own spellings and file names."""
import os
import subprocess
import sys

from deploy_helpers import ROOT, run_tool


def test_export_with_paddlevideo_flags_names_files_after_the_model(tiny, tmp_path):
    env = dict(os.environ, PYTHONWARNINGS="ignore", GLOG_minloglevel="2")
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "export_model.py"), "-c", str(tiny["config"]),
                           "--pretrained_params", str(tiny["weights"])], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    name = tiny["cfg"]["model_name"]
    assert {f"{name}.json", f"{name}.pdiparams"} <= set(os.listdir(tmp_path / "inference"))  # default -o
    proc = run_tool("export_model.py", "-c", str(tiny["config"]), "-p", str(tiny["weights"]),
                    "-o", str(tmp_path / "named"), "--save_name", "TokenShiftVisionTransformer")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "named" / "TokenShiftVisionTransformer.json").is_file()


def test_predict_with_paddlevideo_flags_and_output(tiny, exported, videos, tmp_path):
    time_list = tmp_path / "time_test.log"  # --time_test_file: any file name is a list
    time_list.write_text("".join(f"{v}\n" for v in videos["good"]))
    proc = run_tool("predict.py", "-c", str(tiny["config"]), "-o", "INFERENCE.views=1", "-i", str(time_list),
                    "--model_file", str(exported["json"]), "--params_file", str(exported["params"]),
                    "-b", "2", "--use_gpu", "False", "--enable_mkldnn", "False", "--gpu_mem", "4000",
                    "--disable_glog", "True", "--time_test_file", "True", "--warmup", "0")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("\ttop-1 class: [") == 3 and proc.stdout.count("\ttop-1 score: [") == 3
    assert "Benchmark (3 videos" in proc.stdout
    proc = run_tool("predict.py", "-c", str(tiny["config"]), "-i", str(videos["good"][0]),
                    "--model_file", str(exported["dir"]), "--enable_benchmark", "True", "--warmup", "0")
    assert proc.returncode == 0 and "Benchmark (1 videos" in proc.stdout, proc.stdout + proc.stderr


def test_predict_says_xpu_and_npu_are_not_supported(tiny, exported, videos):
    proc = run_tool("predict.py", "-c", str(tiny["config"]), "-i", str(videos["good"][0]),
                    "--model_file", str(exported["json"]), "--use_xpu", "True")
    assert proc.returncode == 2 and "only CPU and CUDA GPUs" in proc.stderr
