# The two commands a newcomer runs: `make demo` and `make test`. Each installs what it needs first.
PYTHON ?= python3
DEMO_CFG := configs/recognition/tokshift/demo_tokshift_tiny.yaml
DEMO_OUT := output/demo_tokshift_tiny

.PHONY: install install-test demo test lint benchmark-demo

# Paddle first (CPU build unless one is importable: requirements.txt cannot choose between the CPU and CUDA
# packages), then this checkout, editable, with requirements.txt: `paddlevideo` imports from anywhere.
install:
	$(PYTHON) -c "import paddle" 2>/dev/null || $(PYTHON) -m pip install "paddlepaddle>=3.0"
	$(PYTHON) -m pip install -e .

install-test: install
	$(PYTHON) -m pip install "pytest>=7" "ruff==0.17.6"

lint: install-test
	$(PYTHON) -m ruff check .

demo: install
	$(PYTHON) data/generate_demo_data.py --out data/demo
	$(PYTHON) main.py --amp -c $(DEMO_CFG) --validate --seed 0
	$(PYTHON) main.py -c $(DEMO_CFG) --test -w $(DEMO_OUT)/demo_tokshift_tiny_best.pdparams
	$(PYTHON) tools/export_model.py -c $(DEMO_CFG) -p $(DEMO_OUT)/demo_tokshift_tiny_best.pdparams \
		-o $(DEMO_OUT)/inference --onnx
	$(PYTHON) tools/predict.py -c $(DEMO_CFG) -i data/demo/videos/darkening/val_0000.avi \
		--model_file $(DEMO_OUT)/inference/demo_tokshift_tiny.json --label_file data/demo/classes.txt --top_k 2

test: lint
	$(PYTHON) -m pytest tests -q

benchmark-demo: install
	$(PYTHON) tools/benchmark/demo.py

# The GPU paths (AMP, resume, accumulation, recompute, attention, data parallel, export + predict) on a tiny
# model, one table; on a CPU-only machine the GPU rows are skipped.
.PHONY: check-gpu
check-gpu: install
	$(PYTHON) tools/check_gpu.py
