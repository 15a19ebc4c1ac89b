"""``tools/predict.py --use_gpu --use_tensorrt`` with the exported PIR ``.json``: a clear refusal (exit 2)
naming the file and the conversion, before any device is touched -- never a run that claims TensorRT."""
from deploy_helpers import run_tool


def test_predict_refuses_tensorrt_for_a_pir_model(tiny, exported, videos):
    proc = run_tool("predict.py", "-c", str(tiny["config"]), "-i", str(videos["good"][0]),
                    "--model_file", str(exported["json"]), "--use_gpu", "--use_tensorrt")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert str(exported["json"]) in proc.stderr and "paddle.tensorrt.convert" in proc.stderr
    assert "Model:" not in proc.stdout and "TensorRT subgraphs" not in proc.stdout
