"""The eager CPU fast linear (``layers/linear.py``) and LayerNorm backward (``layers/layer_norm.py``) against
``F.linear``/``F.layer_norm``: same values and gradients, and the exported graph still uses Paddle's ops.

Tolerance: the input and weight gradients come from the same GEMMs as Paddle's own and are compared at
``rtol=1e-6``; the bias gradient (row sum as a GEMV) and the bias add (inside ``addmm``) only change the
float32 summation order, so they are compared at ``1e-6 * max|value|``. The LayerNorm gradients sum in
another order than Paddle's kernel (two-pass statistics, matrix-vector row and column sums): ``1e-5``.
"""
import contextlib

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from paddlevideo.modeling.builder import build_model
from paddlevideo.modeling.layers import Attention, LayerNorm, Mlp
from paddlevideo.modeling.layers import layer_norm as layer_norm_module
from paddlevideo.modeling.layers.fast_paths import reference_kernels
from paddlevideo.modeling.layers.linear import linear

RTOL = 1e-6


def close(actual, expected, rtol=RTOL):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * np.abs(expected).max())


def forward_backward(fn, x, weight, bias):
    """Output and the gradients of ``x``, ``weight`` and ``bias`` (None when not needed) of ``fn``."""
    for t in (x, weight, bias):
        if t is not None:
            t.clear_gradient()
    out = fn(x, weight, bias)
    grad_out = paddle.to_tensor(np.random.default_rng(3).standard_normal(out.shape).astype("float32"))
    paddle.autograd.backward([out], [grad_out])
    return [out.numpy()] + [None if t is None or t.grad is None else t.grad.numpy() for t in (x, weight, bias)]


def assert_same_results(fast, reference):
    """Outputs and gradients agree, and a gradient is missing on one side exactly when on the other."""
    for got, want in zip(fast, reference):
        if want is None:
            assert got is None
        else:
            close(got, want)


def tensors(rng, shape, stop_gradient=False):
    t = paddle.to_tensor(rng.standard_normal(shape).astype("float32"))
    t.stop_gradient = stop_gradient
    return t


@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("x_shape", [(3, 5, 8), (7, 8)])
def test_fast_linear_matches_f_linear(with_bias, x_shape):
    rng = np.random.default_rng(0)
    x, weight = tensors(rng, x_shape), tensors(rng, (8, 12))
    bias = tensors(rng, (12,)) if with_bias else None
    assert_same_results(forward_backward(linear, x, weight, bias), forward_backward(F.linear, x, weight, bias))


def test_fast_linear_without_input_gradient():
    rng = np.random.default_rng(1)
    x, weight, bias = tensors(rng, (4, 6), stop_gradient=True), tensors(rng, (6, 3)), tensors(rng, (3,))
    out, x_grad, weight_grad, bias_grad = forward_backward(linear, x, weight, bias)
    assert x_grad is None
    close(weight_grad, forward_backward(F.linear, x, weight, bias)[2])


@pytest.mark.parametrize("frozen", ["weight", "bias", "both"])
def test_fast_linear_with_frozen_parameters(frozen):
    """A weight or bias with ``stop_gradient`` (frozen by hand) gets no gradient; the others do."""
    rng = np.random.default_rng(2)
    x = tensors(rng, (5, 6))
    weight = tensors(rng, (6, 3), stop_gradient=frozen in ("weight", "both"))
    bias = tensors(rng, (3,), stop_gradient=frozen in ("bias", "both"))
    assert_same_results(forward_backward(linear, x, weight, bias), forward_backward(F.linear, x, weight, bias))


def test_reference_kernels_is_f_linear_bitwise():
    rng = np.random.default_rng(2)
    x, weight, bias = tensors(rng, (2, 5, 8)), tensors(rng, (8, 4)), tensors(rng, (4,))
    with reference_kernels():
        inside = forward_backward(linear, x, weight, bias)
    for got, want in zip(inside, forward_backward(F.linear, x, weight, bias)):
        np.testing.assert_array_equal(got, want)


EPSILON = 1e-6


def fast_layer_norm(x, weight, bias):
    return layer_norm_module._LayerNorm.apply(x, weight, bias, EPSILON)


def reference_layer_norm(x, weight, bias):
    return F.layer_norm(x, x.shape[-1:], weight, bias, EPSILON)


@pytest.mark.parametrize("frozen", ["none", "input", "weight", "bias"])
def test_fast_layer_norm_matches_f_layer_norm(frozen):
    """Values and all three gradients; a frozen tensor gets no gradient and the others are unchanged.
    The input is offset and scaled like a residual stream (mean 3, std 5), where one-pass variance
    formulas lose precision.

    The reference runs with every tensor trainable: Paddle 3.3.1's own ``layer_norm_grad`` drops the
    scale from the input gradient when the scale has ``stop_gradient`` (off by up to 1.06 from finite
    differences on this input, where ours is within 1.2e-7)."""
    frozen_index = {"none": None, "input": 1, "weight": 2, "bias": 3}[frozen]

    def inputs(frozen_index):
        rng = np.random.default_rng(4)
        x = paddle.to_tensor((3 + 5 * rng.standard_normal((2, 7, 24))).astype("float32"))
        x.stop_gradient = frozen_index == 1
        return x, tensors(rng, (24,), frozen_index == 2), tensors(rng, (24,), frozen_index == 3)

    reference = forward_backward(reference_layer_norm, *inputs(None))
    fast = forward_backward(fast_layer_norm, *inputs(frozen_index))
    for index, (got, want) in enumerate(zip(fast, reference)):
        if index == frozen_index:
            assert got is None
        else:
            close(got, want, rtol=1e-5)


def test_layer_norm_layer_takes_the_fast_path_outside_reference_kernels(monkeypatch):
    calls = []
    apply = layer_norm_module._LayerNorm.apply
    monkeypatch.setattr(layer_norm_module._LayerNorm, "apply", lambda *args: calls.append(1) or apply(*args))
    layer = LayerNorm(8, epsilon=EPSILON)
    x = paddle.randn([3, 8])
    layer(x)
    assert len(calls) == 1
    with reference_kernels():
        np.testing.assert_array_equal(layer(x).numpy(), reference_layer_norm(x, layer.weight, layer.bias).numpy())
    assert len(calls) == 1


@pytest.mark.parametrize("layer", ["attention", "mlp", "layer_norm"])
def test_exported_graph_uses_paddle_ops(layer):
    """``to_static`` traces Paddle's own ops (no PyLayer op in the program) and agrees with eager."""
    paddle.seed(0)
    module = {"attention": lambda: Attention(16, 4), "mlp": lambda: Mlp(16, 32),
              "layer_norm": lambda: LayerNorm(16)}[layer]()
    module.eval()
    x = paddle.randn([2, 5, 16])
    static = paddle.jit.to_static(module, input_spec=[paddle.static.InputSpec([None, 5, 16], "float32")],
                                  full_graph=True)
    out = static(x)
    program = static.forward.concrete_program.main_program
    ops = {op.name() for op in program.global_block().ops}
    assert not any("py_layer" in name or "pylayer" in name for name in ops), sorted(ops)
    assert any(("layer_norm" if layer == "layer_norm" else "matmul") in name for name in ops), sorted(ops)
    with reference_kernels():
        expected = module(x)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6, atol=1e-6)


def test_model_train_step_matches_reference_kernels(tiny_model_cfg):
    """Loss and every parameter gradient of the tiny TokShift agree with the plain ``F.linear`` model."""
    cfg = dict(tiny_model_cfg, head=dict(tiny_model_cfg["head"], std=0.02))
    x = paddle.to_tensor(np.random.default_rng(0).standard_normal((2, 3, 4, 32, 32)).astype("float32"))
    labels = paddle.to_tensor([1, 0])

    def step(context):
        paddle.seed(0)
        model = build_model(cfg)
        with context:
            loss = model([x, labels], mode="train")["loss"]
            loss.backward()
        return float(loss), {name: p.grad.numpy() for name, p in model.named_parameters()}

    fast_loss, fast = step(contextlib.nullcontext())
    ref_loss, ref = step(reference_kernels())
    assert abs(fast_loss - ref_loss) <= 1e-6 * abs(ref_loss)
    assert fast.keys() == ref.keys()
    for name in ref:
        close(fast[name], ref[name], rtol=1e-5)
