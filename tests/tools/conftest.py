"""Tiny TokShift (depth 2, embed 64, 32 px, 4 frames), random weights, and generated .avi videos.

Everything expensive (building the model, exporting it) is done once per session and shared, so the
export/predict tests stay within a few seconds each on 2 CPU cores.
"""
from typing import Dict

import pytest
from deploy_helpers import run_tool, write_tiny_config, write_video


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Dict:
    """Tiny config file, its parsed cfg, random weights (.pdparams) and the dygraph model."""
    import paddle

    from paddlevideo.config import get_config
    from paddlevideo.deploy.export import load_recognizer

    root = tmp_path_factory.mktemp("tiny")
    config = write_tiny_config(root / "tiny.yaml")
    cfg = get_config(str(config))
    paddle.seed(0)
    model = load_recognizer(cfg)
    weights = root / "tiny.pdparams"
    paddle.save(model.state_dict(), str(weights))
    return {"root": root, "config": config, "cfg": cfg, "weights": weights, "model": model}


@pytest.fixture(scope="session")
def exported(tiny) -> Dict:
    """``tools/export_model.py --onnx`` run once on the tiny model (the CLI end to end)."""
    out = tiny["root"] / "export"
    proc = run_tool("export_model.py", "-c", str(tiny["config"]), "-p", str(tiny["weights"]),
                    "-o", str(out), "--onnx")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    name = tiny["cfg"]["model_name"]  # PaddleVideo names the files after the model
    return {"dir": out, "json": out / f"{name}.json", "params": out / f"{name}.pdiparams",
            "onnx": out / f"{name}.onnx", "stdout": proc.stdout}


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> Dict:
    """A directory with three good videos (one in a sub-directory) and one broken file."""
    root = tmp_path_factory.mktemp("videos")
    (root / "sub").mkdir()
    good = [write_video(root / "a.avi", seed=1), write_video(root / "b.avi", num_frames=20, seed=2),
            write_video(root / "sub" / "c.avi", width=40, height=56, seed=3)]
    broken = root / "broken.avi"
    broken.write_bytes(b"not a video at all" * 50)
    return {"dir": root, "good": good, "broken": broken}


@pytest.fixture(scope="session")
def exported_int8(tiny) -> Dict:
    """``tools/export_model.py --quantize int8 --check_clips data/example`` run once on the tiny model."""
    from deploy_helpers import ROOT

    out = tiny["root"] / "export_int8"
    proc = run_tool("export_model.py", "-c", str(tiny["config"]), "-p", str(tiny["weights"]), "-o", str(out),
                    "--quantize", "int8", "--check_clips", str(ROOT / "data" / "example"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    name = tiny["cfg"]["model_name"]
    return {"dir": out, "json": out / f"{name}.json", "onnx": out / f"{name}.onnx",
            "int8": out / f"{name}.int8.onnx", "stdout": proc.stdout}
