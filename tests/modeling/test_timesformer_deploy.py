"""TimeSformer downstream: export (Paddle Inference + ONNX, parity-checked), oneDNN, predict.py, benchmark.

A tiny divided space-time model (32 px, patch 16, width 64, depth 2, 4 frames) with random weights,
``temporal_fc`` and ``time_embed`` included (at their zero init the temporal path would be invisible),
tested with PaddleVideo's protocol: 1 clip x 3 UniformCrop views averaged in the exported graph.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = ROOT / "configs" / "recognition" / "timesformer" / "demo_timesformer_tiny.yaml"
SIZE, FRAMES, DIM, VIEWS = 32, 4, 64, 3


def tiny_overrides():
    items = [f"MODEL.backbone.img_size={SIZE}", f"MODEL.backbone.embed_dim={DIM}", "MODEL.backbone.depth=2",
             "MODEL.backbone.num_heads=4", f"MODEL.backbone.num_seg={FRAMES}", f"MODEL.head.in_channels={DIM}",
             f"INFERENCE.num_seg={FRAMES}", f"INFERENCE.target_size={SIZE}", f"INFERENCE.views={VIEWS}",
             f"PIPELINE.train.transform.0.JitterScale={{'min_size': {SIZE}, 'max_size': {SIZE + 4}}}",
             f"PIPELINE.train.transform.1.RandomCrop.target_size={SIZE}",
             f"PIPELINE.valid.transform.0.Scale.short_size={SIZE}",
             f"PIPELINE.valid.transform.1.CenterCrop.target_size={SIZE}",
             f"PIPELINE.test.transform.0.Scale.short_size={SIZE}",
             f"PIPELINE.test.transform.1={{'UniformCrop': {{'target_size': {SIZE}}}}}"]
    return items + [f"PIPELINE.{mode}.sample.num_seg={FRAMES}" for mode in ("train", "valid", "test")]


def run_tool(script: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="2", PYTHONWARNINGS="ignore", GLOG_minloglevel="2")
    return subprocess.run([sys.executable, str(ROOT / "tools" / script), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


def write_video(path: Path, seed: int, num_frames: int = 12, width: int = 56, height: int = 40) -> Path:
    """An MJPG .avi of moving random colour blobs (56x40: decord 0.6 reads this size)."""
    rng = np.random.RandomState(seed)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (width, height))
    base = cv2.resize(rng.randint(0, 256, (4, 5, 3)).astype(np.uint8), (width, height))
    for i in range(num_frames):
        writer.write(np.roll(base, shift=3 * i, axis=1))
    writer.release()
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Config file, cfg, weights (.pdparams), the dygraph model, the export and two videos."""
    import paddle

    from paddlevideo.config import format_config, get_config
    from paddlevideo.deploy.export import load_recognizer

    root = tmp_path_factory.mktemp("timesformer")
    cfg = get_config(str(DEMO_CONFIG), tiny_overrides(), show=False)
    config = root / "tiny.yaml"
    config.write_text(format_config(cfg) + "\n", encoding="utf-8")
    paddle.seed(0)
    model = load_recognizer(cfg)
    for name, param in model.named_parameters():
        if "temporal_fc" in name or "time_embed" in name:
            param.set_value(paddle.randn(param.shape) * 0.05)
    weights = root / "tiny.pdparams"
    paddle.save(model.state_dict(), str(weights))
    proc = run_tool("export_model.py", "-c", str(config), "-p", str(weights), "-o", str(root / "export"), "--onnx")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    name = cfg["model_name"]
    videos = [write_video(root / f"clip{i}.avi", seed=i) for i in range(2)]
    return {"root": root, "config": config, "cfg": cfg, "weights": weights, "model": model, "videos": videos,
            "export_stdout": proc.stdout, "json": root / "export" / f"{name}.json",
            "params": root / "export" / f"{name}.pdiparams", "onnx": root / "export" / f"{name}.onnx"}


def test_export_writes_pir_and_onnx_with_parity(tiny):
    out = tiny["export_stdout"]
    assert f"Input 'imgs': [None, 3, {FRAMES * VIEWS}, {SIZE}, {SIZE}] float32" in out
    assert out.count("-> OK") == 2 and "ONNX Runtime vs dygraph" in out
    for key in ("json", "params", "onnx"):
        assert tiny[key].is_file()


@pytest.mark.parametrize("mkldnn", [False, True])
def test_exported_model_matches_dygraph_with_and_without_onednn(tiny, mkldnn):
    from paddlevideo.deploy.agreement import random_input
    from paddlevideo.deploy.export import dygraph_runner
    from paddlevideo.deploy.predictor import PaddlePredictor, PredictorOptions

    runner = PaddlePredictor(str(tiny["json"]), None, PredictorOptions(cpu_threads=2, enable_mkldnn=mkldnn))
    assert runner.mkldnn == mkldnn, "oneDNN fell back to plain CPU kernels"
    imgs = random_input([None, 3, FRAMES * VIEWS, SIZE, SIZE], 2, seed=3)
    np.testing.assert_allclose(runner.run(imgs), dygraph_runner(tiny["model"])(imgs), rtol=0, atol=1e-4)


def reference_scores(tiny) -> dict:
    """Softmax scores per video as ``main.py --test`` computes them (test pipeline + dygraph model)."""
    import copy

    import paddle

    from paddlevideo.deploy.classifier import softmax
    from paddlevideo.loader.builder import build_dataset

    list_file = tiny["root"] / "ref.list"
    list_file.write_text("".join(f"{v} 0\n" for v in tiny["videos"]), encoding="utf-8")
    cfg = copy.deepcopy(tiny["cfg"])
    cfg["DATASET"]["test"].update(file_path=str(list_file), data_prefix="")
    dataset = build_dataset(cfg, "test")
    with paddle.no_grad():
        return {dataset.path(i): softmax(tiny["model"]([paddle.to_tensor(dataset[i].imgs[None])],
                                                       mode="test").numpy())[0] for i in range(len(dataset))}


@pytest.mark.parametrize("model_key", ["json", "onnx"])
def test_predict_on_avi_matches_the_test_pipeline(tiny, model_key, tmp_path):
    out_json = tmp_path / "out.json"
    proc = run_tool("predict.py", "-c", str(tiny["config"]), "-i", str(tiny["videos"][0].parent),
                    "--model_file", str(tiny[model_key]), "--top_k", "2", "--json", str(out_json))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = {r["file"]: r for r in json.loads(out_json.read_text())["results"]}
    reference = reference_scores(tiny)
    assert sorted(results) == sorted(reference)
    for path, scores in reference.items():
        np.testing.assert_allclose(results[path]["scores"], scores, rtol=0, atol=1e-5)
        assert f"Current video file: {path}\n\ttop-2 class: [" in proc.stdout


def test_benchmark_tool_reports_timesformer(tiny, tmp_path):
    out_json = tmp_path / "bench.json"
    proc = run_tool("benchmark/infer.py", "-c", str(tiny["config"]), "--repeats", "2", "--warmup", "0",
                    "--pause", "0", "--batch_sizes", "1", "--paths", "dygraph", "onnxruntime",
                    "--json", str(out_json))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "TimeSformer forward, input [1, 3, 4, 32, 32]" in proc.stdout and "Roofline:" in proc.stdout
    rows = {row["path"]: row for row in json.loads(out_json.read_text())["rows"]}
    assert rows["onnxruntime"]["max_abs_diff"] < 1e-4 and rows["dygraph"]["batches"]["1"]["n"] == 2


def test_matmul_flops_of_the_k400_config():
    """TimeSformer-B 8x224: 281 GFLOP of ViT matmuls + temporal attention and temporal_fc (~112)."""
    from paddlevideo.config import get_config
    from tools.benchmark import infer as benchmark_infer

    cfg = get_config(str(ROOT / benchmark_infer.CONFIGS["timesformer"]), show=False)
    vit = benchmark_infer.vit_matmul_flops(cfg, 8)
    assert abs(benchmark_infer.timesformer_matmul_flops(cfg, 8) - vit - 111.5e9) < 0.5e9
    cfg["MODEL"]["backbone"]["attention_type"] = "space_only"
    assert benchmark_infer.timesformer_matmul_flops(cfg, 8) == vit
