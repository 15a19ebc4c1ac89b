"""``tools/predict.py`` with an exported model runs without the dygraph model code.

Each run is a fresh interpreter that runs predict's ``main`` on the tiny exported model and then lists
the dygraph modules in ``sys.modules``.
"""
import json
import os
import subprocess
import sys

import pytest
from deploy_helpers import ROOT

DYGRAPH = ("paddlevideo.modeling", "paddlevideo.deploy.export", "paddlevideo.solver", "paddlevideo.tasks")

REPORT = """
import json, sys
print("IMPORTS " + json.dumps({"code": code, "dygraph": sorted(
    m for m in sys.modules if m.startswith(%r))}))
""" % (DYGRAPH,)

# predict's own code, with the config read as the settled YAML it is (the tiny config file was
# written from get_config's result).
PREDICT_MAIN = """
import sys
import yaml
import tools.predict as predict

def settled_config(args):
    with open(args.config, encoding="utf-8") as handle:
        return yaml.safe_load(handle)

predict.load_config = settled_config
code = predict.main(sys.argv[1:])
""" + REPORT

# tools/predict.py exactly as a user runs it.
PREDICT_SCRIPT = """
import runpy, sys
sys.argv = ["tools/predict.py"] + sys.argv[1:]
try:
    runpy.run_path("tools/predict.py", run_name="__main__")
except SystemExit as exit:
    code = exit.code
""" + REPORT


def run_predict(code: str, *args: str) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="2", PYTHONWARNINGS="ignore", GLOG_minloglevel="2")
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("IMPORTS ")]
    assert proc.returncode == 0 and lines, proc.stdout + proc.stderr
    assert "Predicted 1 of 1 videos" in proc.stdout, proc.stdout + proc.stderr
    return json.loads(lines[-1][len("IMPORTS "):])


@pytest.mark.parametrize("model", ["json", "onnx"])
def test_predict_imports_no_dygraph_code(tiny, exported, videos, model):
    result = run_predict(PREDICT_MAIN, "-c", str(tiny["config"]), "-i", str(videos["good"][0]),
                         "--model_file", str(exported[model]))
    assert result == {"code": 0, "dygraph": []}


def test_predict_script_with_its_config_loading_imports_no_dygraph_code(tiny, exported, videos):
    result = run_predict(PREDICT_SCRIPT, "-c", str(tiny["config"]), "-i", str(videos["good"][0]),
                         "--model_file", str(exported["json"]))
    assert result == {"code": 0, "dygraph": []}
