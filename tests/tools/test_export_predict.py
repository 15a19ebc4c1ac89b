"""End to end: ``tools/export_model.py`` and ``tools/predict.py`` on the tiny model and generated videos.

The reference for every score is what ``main.py --test`` computes: ``build_dataset(cfg, 'test')`` (the
test pipeline through ``VideoDataset``) and the dygraph recognizer in ``test`` mode.
"""
import json
from pathlib import Path

import numpy as np
import pytest
from deploy_helpers import ROOT, reference_scores, run_tool, write_tiny_config

EXAMPLES = Path(ROOT) / "data" / "example"
ATOL = 1e-4


def predictor(exported, backend: str):
    from paddlevideo.deploy.predictor import PredictorOptions, create_predictor

    model_file = exported["onnx"] if backend == "onnxruntime" else exported["json"]
    return create_predictor(str(model_file), None, PredictorOptions(cpu_threads=2))


def test_export_writes_pir_and_onnx_and_reports_parity(exported):
    for key in ("json", "params", "onnx"):
        assert exported[key].is_file()
    out = exported["stdout"]
    assert "Input 'imgs': [None, 3, 4, 32, 32] float32" in out
    assert "Paddle Inference vs dygraph: max abs diff" in out and "ONNX Runtime vs dygraph" in out
    assert out.count("-> OK") == 2


@pytest.mark.parametrize("backend", ["paddle", "onnxruntime"])
def test_exported_matches_eager_at_batch_1_and_3(tiny, exported, backend):
    from paddlevideo.deploy.agreement import random_input
    from paddlevideo.deploy.export import dygraph_runner

    run = predictor(exported, backend).run
    eager = dygraph_runner(tiny["model"])
    for batch in (1, 3):
        imgs = random_input([None, 3, 4, 32, 32], batch, seed=batch)
        out = run(imgs)
        assert out.shape == (batch, 4)
        np.testing.assert_allclose(out, eager(imgs), rtol=0, atol=ATOL)


def test_onnx_matches_paddle_inference(exported):
    from paddlevideo.deploy.agreement import random_input

    imgs = random_input([None, 3, 4, 32, 32], 2, seed=7)
    np.testing.assert_allclose(predictor(exported, "onnxruntime").run(imgs),
                               predictor(exported, "paddle").run(imgs), rtol=0, atol=ATOL)


def test_export_fails_loudly_when_parity_breaks(tiny, tmp_path, monkeypatch, capsys):
    import importlib.util

    from paddlevideo.deploy import export

    real = export.check_parity
    monkeypatch.setattr(export, "check_parity", lambda name, run, cases, atol: real(
        name, lambda imgs: run(imgs) + 1.0, cases, atol))
    spec = importlib.util.spec_from_file_location("export_tool", ROOT / "tools" / "export_model.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    monkeypatch.setattr(tool, "setup_console_logging", lambda: None)  # keep pytest's log capture
    code = tool.main(["-c", str(tiny["config"]), "-p", str(tiny["weights"]), "-o", str(tmp_path / "out"),
                      "--check_batch_sizes", "1"])
    captured = capsys.readouterr()
    assert code == 1
    assert "FAILED: above the tolerance 0.0001" in captured.out
    assert "does not match the dygraph model" in captured.err


def test_predict_directory_reports_broken_video_and_writes_json(tiny, exported, videos, tmp_path):
    labels = tmp_path / "classInd.txt"
    labels.write_text("1 walk\n2 run\n3 jump\n4 swim\n", encoding="utf-8")
    out_json = tmp_path / "out.json"
    proc = run_tool("predict.py", "-c", str(tiny["config"]), "-i", str(videos["dir"]),
                    "--model_file", str(exported["json"]), "--params_file", str(exported["params"]),
                    "--label_file", str(labels), "--top_k", "2", "--batch_size", "2",
                    "--json", str(out_json), "--benchmark", "--warmup", "1")
    assert proc.returncode == 1, proc.stderr  # 1: some videos could not be read
    out = proc.stdout
    assert f"Current video file: {videos['broken']}\n\terror: cannot decode video" in out
    assert "Predicted 3 of 4 videos; 1 could not be read" in out
    assert out.count("\ttop-2 class: [") == 3 and out.count("\ttop-2 score: [") == 3
    assert "Benchmark (3 videos" in out and "inference throughput" in out

    payload = json.loads(out_json.read_text())
    assert [e["file"] for e in payload["errors"]] == [str(videos["broken"])]
    assert sorted(r["file"] for r in payload["results"]) == sorted(str(v) for v in videos["good"])
    names = ["walk", "run", "jump", "swim"]
    reference = reference_scores(tiny["cfg"], tiny["model"], videos["good"], tmp_path)
    for result in payload["results"]:
        scores = np.asarray(result["scores"])
        assert scores.shape == (4,) and abs(scores.sum() - 1) < 1e-5
        np.testing.assert_allclose(scores, reference[result["file"]], rtol=0, atol=1e-5)
        top = result["top_k"]
        assert [t["class"] for t in top] == list(np.argsort(-scores)[:2])
        assert all(t["label"] == names[t["class"]] for t in top)
        classes = " ".join(str(t["class"]) for t in top)
        line = f"Current video file: {result['file']}\n\ttop-2 class: [{classes}]\n"
        assert line in out and f"\ttop-2 label: [{top[0]['label']}, {top[1]['label']}]" in out
    assert set(payload["benchmark"]) == {"preprocess", "inference", "postprocess"}


def test_predict_onnx_list_file_matches_test_pipeline(tiny, exported, videos, tmp_path):
    list_file = tmp_path / "videos.txt"
    list_file.write_text("a.avi 0\n\nsub/c.avi 3\n", encoding="utf-8")
    out_json = tmp_path / "onnx.json"
    proc = run_tool("predict.py", "-c", str(tiny["config"]), "-i", str(list_file),
                    "--data_prefix", str(videos["dir"]), "--model_file", str(exported["onnx"]),
                    "--json", str(out_json))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"ONNX Runtime ({exported['onnx'].name})" in proc.stdout
    results = json.loads(out_json.read_text())["results"]
    files = [videos["dir"] / "a.avi", videos["dir"] / "sub" / "c.avi"]
    assert [r["file"] for r in results] == [str(f) for f in files]
    reference = reference_scores(tiny["cfg"], tiny["model"], files, tmp_path)
    for result in results:
        np.testing.assert_allclose(result["scores"], reference[result["file"]], rtol=0, atol=1e-5)
        assert result["top_k"][0]["label"] is None


def test_predict_rejects_bad_arguments(tiny, exported, videos):
    proc = run_tool("predict.py", "-c", str(tiny["config"]), "-i", str(videos["good"][0]),
                    "--model_file", str(exported["json"]), "--precision", "fp16")
    assert proc.returncode == 2
    assert "fp16 is a GPU mode" in proc.stderr


def test_multi_view_export_and_classifier(tiny, tmp_path, videos):
    """Two test clips per video: the pipeline's [3, 2*T, H, W] matches the exported input."""
    from paddlevideo.config import get_config
    from paddlevideo.deploy.classifier import VideoClassifier
    from paddlevideo.deploy.export import export_and_check
    from paddlevideo.deploy.predictor import PredictorOptions, create_predictor

    cfg = get_config(str(write_tiny_config(tmp_path / "views2.yaml", views=2)))
    report = export_and_check(cfg, str(tiny["weights"]), str(tmp_path / "v2"), batch_sizes=(1, 3))
    assert report.ok and report.input_shape == [None, 3, 8, 32, 32], [c.message() for c in report.checks]
    classifier = VideoClassifier(cfg, create_predictor(report.model_file, options=PredictorOptions(
        cpu_threads=2)))
    results = list(classifier.predict([str(v) for v in videos["good"]], batch_size=2))
    reference = reference_scores(cfg, tiny["model"], videos["good"], tmp_path)
    for result in results:
        np.testing.assert_allclose(result.probs, reference[result.file], rtol=0, atol=1e-5)


def test_predict_real_clips_match_test_pipeline(tiny, exported, tmp_path):
    """The real UCF101 and Kinetics clips shipped in data/example."""
    clips = [EXAMPLES / "BrushingTeeth.avi", EXAMPLES / "archery_example.avi"]
    list_file = tmp_path / "ucf.txt"
    list_file.write_text("".join(f"{c}\n" for c in clips), encoding="utf-8")
    out_json = tmp_path / "ucf.json"
    proc = run_tool("predict.py", "-c", str(tiny["config"]), "-i", str(list_file),
                    "--model_file", str(exported["json"]), "--params_file", str(exported["params"]),
                    "--label_file", str(Path(ROOT) / "data" / "ucf101" / "annotations" / "classInd.txt"), "--json", str(out_json))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(out_json.read_text())["results"]
    reference = reference_scores(tiny["cfg"], tiny["model"], clips, tmp_path)
    assert [r["file"] for r in results] == [str(c) for c in clips]
    for result in results:
        np.testing.assert_allclose(result["scores"], reference[result["file"]], rtol=0, atol=1e-5)
        # the tiny model has 4 classes: ids 0-3 are the first four UCF101 classes (1-based file)
        assert result["top_k"][0]["label"] in ("ApplyEyeMakeup", "ApplyLipstick", "Archery", "BabyCrawling")


def test_benchmark_tool_runs_on_the_tiny_model(tiny, tmp_path):
    """Every path in one run: latency and throughput per batch size, accuracy on the shipped clips."""
    out_json = tmp_path / "bench.json"
    proc = run_tool("benchmark/infer.py", "-c", str(tiny["config"]), "--repeats", "2", "--warmup", "0",
                    "--pause", "0", "--batch_sizes", "1", "3", "--json", str(out_json))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "Goal: n/a" in out and "Roofline:" in out and "CPU: " in out and "features: " in out
    assert "Load average" in out and "on 2 real clips" in out
    result = json.loads(out_json.read_text())
    assert [Path(c).name for c in result["clips"]] == ["BrushingTeeth.avi", "archery_example.avi"]
    rows = {row["path"]: row for row in result["rows"]}
    assert set(rows) == {"dygraph", "paddle", "paddle_onednn", "paddle_bf16", "onnxruntime", "onnxruntime_int8"}
    for path, row in rows.items():
        assert "error" not in row, row
        assert set(row["batches"]) == {"1", "3"} and row["batches"]["3"]["n"] == 2
        assert row["batches"]["3"]["clips_per_s"] > 0 and row["n_clips"] == 2
        print(f"{path}: max|diff| {row['max_abs_diff']:.2e}, top-1 {row['top1_agree']}/2")
    for path in ("dygraph", "paddle", "paddle_onednn", "onnxruntime"):
        assert rows[path]["max_abs_diff"] < 1e-4 and rows[path]["top1_agree"] == 2
    for path in ("paddle_bf16", "onnxruntime_int8"):  # lossy: same top-1 on the real clips
        assert rows[path]["top1_agree"] == 2 and rows[path]["max_abs_diff"] < 0.05
    assert rows["onnxruntime_int8"]["precision"] == "int8"


def test_exported_tokshift_runs_on_onednn_without_fallback(tiny, exported):
    """Paddle 3.3's oneDNN rejects some PIR graphs (e.g. a concat with an empty input); the exported
    TokShift must run on oneDNN itself, not on the plain-CPU fallback."""
    from paddlevideo.deploy.agreement import random_input
    from paddlevideo.deploy.export import dygraph_runner
    from paddlevideo.deploy.predictor import PaddlePredictor, PredictorOptions

    runner = PaddlePredictor(str(exported["json"]), None, PredictorOptions(cpu_threads=1, enable_mkldnn=True))
    imgs = random_input([None, 3, 4, 32, 32], 2, seed=5)
    out = runner.run(imgs)
    assert runner.mkldnn, "oneDNN fell back to plain CPU kernels"
    np.testing.assert_allclose(out, dygraph_runner(tiny["model"])(imgs), rtol=0, atol=ATOL)
