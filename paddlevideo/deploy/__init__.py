"""Deployment: export to Paddle Inference / ONNX, and predict with the exported model.

* ``export``: runs an export: ``to_static`` + ``jit.save`` (``<model_name>.json`` + ``.pdiparams``),
  paddle2onnx, int8, and the checks against the dygraph model; the only module that imports model
  code (``paddlevideo.modeling``);
* ``input_shape``: the exported input ``[B, C, V*T, H, W]`` from the config;
* ``onnx_graph``: in-place edits of an exported ONNX graph (batch axis, unused initializers, weights
  as initializers);
* ``quantize``: the int8 ONNX model (ONNX Runtime's quantizer);
* ``agreement``: parity (fp32) and int8 agreement checks of a candidate against reference logits;
* ``predictor``: one ``run(imgs) -> logits`` interface over ``paddle.inference`` and ONNX Runtime;
* ``classifier``: test pipeline + predictor + softmax/top-k for video files;
* ``labels``, ``inputs``, ``cpu``, ``timing``, ``cli``: label files, ``-i`` resolution, CPU flags,
  latency stats, command-line helpers.

Prediction (``classifier``, ``predictor`` and what they import) never imports ``export``, so
predicting with an exported model loads no dygraph model code. Modules are imported on use
(``from paddlevideo.deploy.predictor import create_predictor``) so that reading a label file does
not load Paddle.
"""
