"""``backbone.recompute``: same loss and gradients, blocks rerun in backward, eval and export unchanged.

Tolerance: parameter gradients must agree to ``rtol=1e-6`` with ``atol=1e-6 * max|grad|`` of that
parameter, and the loss to ``rtol=1e-7``. On Paddle 3.3.1 CPU they were bitwise equal, with and
without dropout / drop-path: the rerun executes the same kernels on the same inputs, and
``preserve_rng_state`` (on by default) restores the RNG so that the masks are redrawn identically.
"""
import copy
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import paddle
import pytest

import paddlevideo.modeling.layers.recompute as recompute_module
from paddlevideo.deploy.export import load_recognizer, save_inference_model
from paddlevideo.modeling.builder import build_model

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GRAD_RTOL, GRAD_ATOL_REL, LOSS_RTOL = 1e-6, 1e-6, 1e-7


def tiny_cfg(base, recompute, drop_path_rate=0.0, drop_rate=0.0):
    """The tiny model (depth 2, dim 64, 32 px, 4 frames) with a non-zero classifier init."""
    cfg = copy.deepcopy(base)
    cfg["backbone"].update(recompute=recompute, drop_path_rate=drop_path_rate, drop_rate=drop_rate,
                           attn_drop_rate=drop_rate)
    cfg["head"]["std"] = 0.02  # a zero classifier would send zero gradients into the backbone
    return cfg


def timesformer_cfg(attention_type):
    """The tiny TimeSformer (depth 2, dim 32, 32 px, 4 frames, 5 classes)."""
    from timesformer_helpers import tiny_cfg as tiny_timesformer
    return tiny_timesformer(attention_type)


def train_step(cfg):
    """Loss, every parameter's gradient, and the next random draw after one forward + backward."""
    paddle.seed(0)
    model = build_model(cfg)
    model.train()
    paddle.seed(1)
    imgs = paddle.randn([2, 3, 4, 32, 32])
    labels = paddle.to_tensor([1, 3])
    paddle.seed(2)
    loss = model([imgs, labels], mode="train")["loss"]
    loss.backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    missing = [name for name, g in grads.items() if g is None]
    assert not missing, f"parameters without a gradient: {missing}"
    return float(loss), {name: g.numpy() for name, g in grads.items()}, paddle.rand([4]).numpy()


def assert_same_step(reference, candidate):
    loss_ref, grads_ref, rng_ref = reference
    loss, grads, rng = candidate
    np.testing.assert_allclose(loss, loss_ref, rtol=LOSS_RTOL)
    assert grads.keys() == grads_ref.keys()
    for name, grad in grads.items():
        np.testing.assert_allclose(grad, grads_ref[name], rtol=GRAD_RTOL,
                                   atol=GRAD_ATOL_REL * np.abs(grads_ref[name]).max(), err_msg=name)
    np.testing.assert_array_equal(rng, rng_ref)  # the rerun does not advance the global RNG


@pytest.mark.parametrize("drop_path_rate,drop_rate", [(0.0, 0.0), (0.5, 0.0), (0.3, 0.2)],
                         ids=["no-dropout", "drop-path", "drop-path+dropout"])
def test_recompute_gives_same_loss_and_gradients(tiny_model_cfg, drop_path_rate, drop_rate):
    plain = train_step(tiny_cfg(tiny_model_cfg, False, drop_path_rate, drop_rate))
    assert_same_step(plain, train_step(tiny_cfg(tiny_model_cfg, True, drop_path_rate, drop_rate)))


@pytest.mark.parametrize("attention_type", ["divided_space_time", "space_only", "joint_space_time"])
def test_timesformer_recompute_gives_same_loss_and_gradients(attention_type):
    base = timesformer_cfg(attention_type)
    plain = train_step(tiny_cfg(base, False, drop_path_rate=0.3, drop_rate=0.2))
    assert_same_step(plain, train_step(tiny_cfg(base, True, drop_path_rate=0.3, drop_rate=0.2)))


def test_drop_path_case_depends_on_restored_rng(tiny_model_cfg, monkeypatch):
    """Without restoring the RNG the rerun draws other drop-path masks: the test above is not vacuous."""
    plain = train_step(tiny_cfg(tiny_model_cfg, False, drop_path_rate=0.5))
    checkpoint = recompute_module.recompute_checkpoint
    monkeypatch.setattr(recompute_module, "recompute_checkpoint",
                        lambda *args, **kwargs: checkpoint(*args, **{**kwargs, "preserve_rng_state": False}))
    _, grads, _ = train_step(tiny_cfg(tiny_model_cfg, True, drop_path_rate=0.5))
    assert any(not np.allclose(grads[name], plain[1][name]) for name in grads)


def count_block_calls(model):
    calls = []
    for block in model.backbone.blocks:
        block.register_forward_pre_hook(lambda layer, inputs: calls.append(layer))
    return calls


def test_blocks_rerun_during_backward(tiny_model_cfg):
    model = build_model(tiny_cfg(tiny_model_cfg, True))
    model.train()
    calls = count_block_calls(model)
    loss = model([paddle.randn([2, 3, 4, 32, 32]), paddle.to_tensor([0, 1])], mode="train")["loss"]
    assert len(calls) == 2
    loss.backward()
    assert len(calls) == 4


def test_recompute_not_used_in_eval_or_when_off(tiny_model_cfg, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("recompute called")

    monkeypatch.setattr(recompute_module, "recompute_checkpoint", fail)
    imgs = paddle.randn([1, 3, 4, 32, 32])
    model = build_model(tiny_cfg(tiny_model_cfg, True))
    model.eval()
    with paddle.no_grad():
        model([imgs], mode="infer")
    model = build_model(tiny_cfg(tiny_model_cfg, False))
    model.train()
    model([imgs, paddle.to_tensor([0])], mode="train")["loss"].backward()


def exported_ops(cfg, out_dir):
    """The op names of the exported PIR program, in order (parameter names vary between builds)."""
    model_file, _ = save_inference_model(load_recognizer({"MODEL": cfg}), [None, 3, 4, 32, 32], str(out_dir))
    with open(model_file, encoding="utf-8") as f:
        program = json.load(f)["program"]
    return [op["#"] for region in program["regions"] for block in region["blocks"] for op in block["ops"]]


def test_exported_program_is_unchanged(tiny_model_cfg, tmp_path):
    plain = exported_ops(tiny_cfg(tiny_model_cfg, False), tmp_path / "plain")
    assert plain and exported_ops(tiny_cfg(tiny_model_cfg, True), tmp_path / "recompute") == plain


DATA_PARALLEL_WORKER = textwrap.dedent("""
    import json, sys
    import numpy as np, paddle, paddle.distributed as dist
    from paddlevideo.modeling.builder import build_model
    cfgs, out = json.loads(sys.argv[1]), sys.argv[2]
    dist.init_parallel_env()
    rank, grads = dist.get_rank(), []
    for cfg in cfgs:
        paddle.seed(0)
        model = paddle.DataParallel(build_model(cfg))
        model.train()
        paddle.seed(10 + rank)  # each rank its own clips and drop-path masks
        imgs, labels = paddle.randn([2, 3, 4, 32, 32]), paddle.to_tensor([1, 3])
        model([imgs, labels], mode="train")["loss"].backward()
        grads.append({n: p.grad.numpy() for n, p in model.named_parameters()})
    diff = max(float(np.abs(grads[0][n] - grads[1][n]).max()) for n in grads[0])
    json.dump({"max_abs_diff": diff}, open(f"{out}/rank{rank}.json", "w"))
""")


def test_recompute_under_data_parallel(tiny_model_cfg, tmp_path):
    """Two gloo processes: the same all-reduced gradients with and without recompute.

    Paddle's default reentrant recompute fails here ("parameter ... has been ready before"), which is
    why the backbone uses the hook-based one.
    """
    cfgs = [tiny_cfg(tiny_model_cfg, recompute, drop_path_rate=0.3) for recompute in (False, True)]
    script = tmp_path / "worker.py"
    script.write_text(DATA_PARALLEL_WORKER)
    cmd = [sys.executable, "-m", "paddle.distributed.launch", "--log_dir", str(tmp_path / "log"),
           "--nproc_per_node", "2", str(script), json.dumps(cfgs), str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    logs = "".join(p.read_text() for p in sorted((tmp_path / "log").glob("workerlog.*")))
    assert proc.returncode == 0, logs[-3000:]
    for rank in (0, 1):
        assert json.loads((tmp_path / f"rank{rank}.json").read_text())["max_abs_diff"] <= 1e-6
