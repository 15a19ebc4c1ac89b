"""Deployment: export to Paddle Inference / ONNX, and predict with the exported model.

* ``export``: ``to_static`` + ``jit.save`` (``<model_name>.json`` + ``.pdiparams``), paddle2onnx,
  and parity checks against the dygraph model;
* ``predictor``: one ``run(imgs) -> logits`` interface over ``paddle.inference`` and ONNX Runtime;
* ``classifier``: test pipeline + predictor + softmax/top-k for video files;
* ``labels``, ``inputs``, ``cpu``, ``timing``: label files, ``-i`` resolution, CPU flags, latency stats.

Modules are imported on use (``from paddlevideo.deploy.predictor import create_predictor``) so that
reading a label file does not load Paddle.
"""
