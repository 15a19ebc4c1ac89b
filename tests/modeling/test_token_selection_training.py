"""STTS end to end: the fine-tuning optimiser (``OPTIMIZER.param_groups``), plain checkpoints in selecting
models, export + ONNX parity of selecting models, the shipped configs, and a tiny main.py run."""
import glob
import json
import os

import numpy as np
import paddle
import pytest

import main
from paddlevideo.config import get_config
from paddlevideo.errors import ConfigError
from paddlevideo.modeling.builder import build_model
from paddlevideo.modeling.weights.loading import load_weights
from paddlevideo.solver import build_optimizer, build_param_groups
from paddlevideo.utils.checkpoint import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STTS_CONFIGS = sorted(glob.glob(os.path.join(ROOT, "configs", "recognition", "stts", "*.yaml")))
SELECTION = {"temporal": {"block": 0, "keep": 0.5}, "spatial": {"block": 1, "keep": 0.5}}
RECIPE = [{"prefix": "backbone.", "lr_mult": 0.1, "freeze_epochs": 1},
          {"prefix": "head.", "lr_mult": 0.1, "freeze_epochs": 1},
          {"prefix": "backbone.token_selection.", "lr_mult": 1.0}]


def tiny_model(backbone="TokenShiftVisionTransformer", selection=None):
    extra = {"shift_div": 4} if backbone == "TokenShiftVisionTransformer" else {}
    head = "TokenShiftHead" if backbone == "TokenShiftVisionTransformer" else "TimeSformerHead"
    cfg = {"framework": "RecognizerTransformer",
           "backbone": dict(name=backbone, img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2,
                            num_seg=4, token_selection=selection, **extra),
           "head": {"name": head, "num_classes": 3, "in_channels": 32}}
    return build_model(cfg)


def snapshot(model):
    return {name: p.numpy().copy() for name, p in model.named_parameters()}


def train_step(model, optimizer):
    model.train()
    x, labels = paddle.randn([2, 3, 4, 32, 32]), paddle.to_tensor([[0], [2]])
    model([x, labels], mode="train")["loss"].backward()
    optimizer.step()
    optimizer.clear_grad()


# ------------------------------------------------------------------------------------------ optimiser
@pytest.mark.parametrize("name", ["AdamW", "Momentum"])
def test_frozen_groups_stay_exactly_fixed_then_train(name):
    paddle.seed(0)
    model = tiny_model(selection=SELECTION)
    cfg = {"name": name, "learning_rate": 0.01, "weight_decay": 0.05, "param_groups": RECIPE,
           "grad_clip": {"name": "global", "value": 1.0}}
    optimizer, _ = build_optimizer(cfg, model, iters_per_epoch=1, epochs=3)
    groups = build_param_groups(cfg, model)
    before = snapshot(model)
    groups.set_epoch(0)
    train_step(model, optimizer)
    after = snapshot(model)
    changed = {n for n in before if not np.array_equal(before[n], after[n])}
    assert changed and all(n.startswith("backbone.token_selection.") for n in changed)
    groups.set_epoch(1)
    train_step(model, optimizer)
    later = snapshot(model)
    assert not np.array_equal(after["backbone.blocks.0.mlp.fc1.weight"], later["backbone.blocks.0.mlp.fc1.weight"])
    assert not np.array_equal(after["head.fc.weight"], later["head.fc.weight"])


def test_lr_mult_scales_the_update_and_frozen_groups_leave_the_clipping_norm():
    paddle.seed(0)
    model = tiny_model(selection=SELECTION)
    cfg = {"name": "Momentum", "momentum": 0.0, "learning_rate": 0.1,
           "param_groups": [{"prefix": "head.", "lr_mult": 0.25}, {"prefix": "backbone.", "freeze_epochs": 2}]}
    optimizer, _ = build_optimizer(cfg, model, iters_per_epoch=1, epochs=3)
    head = model.head.fc.bias
    before = head.numpy().copy()
    model.train()
    model([paddle.randn([2, 3, 4, 32, 32]), paddle.to_tensor([[0], [1]])], mode="train")["loss"].backward()
    grad = head.grad.numpy().copy()
    optimizer.step()
    np.testing.assert_allclose(head.numpy(), before - 0.1 * 0.25 * grad, rtol=1e-5, atol=1e-7)
    assert [p.need_clip for p in model.backbone.parameters()] == [False] * len(model.backbone.parameters())
    build_param_groups(cfg, model).set_epoch(2)
    assert all(p.need_clip for p in model.parameters())
    assert model.backbone.pos_embed.optimize_attr["learning_rate"] == 1.0


def test_the_longest_prefix_decides():
    model = tiny_model(selection=SELECTION)
    groups = build_param_groups({"param_groups": RECIPE}, model)
    assert groups.group_of("backbone.token_selection.temporal.scorer.in_conv.1.weight").lr_mult == 1.0
    assert groups.group_of("backbone.blocks.0.attn.qkv.weight").freeze_epochs == 1
    assert groups.group_of("other.weight") is None
    assert groups.frozen(0) == ["backbone.", "head."] and groups.frozen(1) == []


@pytest.mark.parametrize("groups, message", [
    ({"prefix": "backbone."}, "key 'param_groups' expects"),
    ([{"prefix": "backbone.", "lr_mul": 0.1}], r"unknown key 'lr_mul'.*Did you mean \['lr_mult'\]"),
    ([{"prefix": "backbone.", "lr_mult": -1.0}], "lr_mult >= 0"),
    ([{"prefix": "backbone.", "freeze_epochs": 1.5}], "expects int"),
    ([{"prefix": "backbone."}, {"prefix": "backbone."}], "given twice"),
    ([{"prefix": "backbone.token_selectoin."}], "matches no parameter"),
    (["backbone."], "expected a mapping"),
    ([{"lr_mult": 0.1}], r"missing required key\(s\) \['prefix'\]"),
])
def test_invalid_param_groups_are_config_errors(groups, message):
    model = tiny_model(selection=SELECTION)
    with pytest.raises(ConfigError, match=message):
        build_optimizer({"name": "AdamW", "learning_rate": 0.01, "param_groups": groups}, model, 1, 1)


# ------------------------------------------------------------------------------------------ checkpoints
@pytest.mark.parametrize("backbone", ["TokenShiftVisionTransformer", "VisionTransformer"])
def test_plain_checkpoint_loads_into_a_selecting_model(backbone, tmp_path):
    paddle.seed(0)
    plain = tiny_model(backbone)
    path = str(tmp_path / "plain.pdparams")
    paddle.save(plain.state_dict(), path)
    keep_all = {"temporal": {"block": 0, "keep": 1.0}, "spatial": {"block": 1, "keep": 1.0}}
    selecting = tiny_model(backbone, keep_all)
    scorer_init = snapshot(selecting)
    with pytest.raises(ConfigError, match="missing"):  # strict loading names the scorer parameters
        load_weights(selecting, load_file(path), source=path, strict=True)
    load_weights(selecting, load_file(path), source=path, strict=False)
    for name, value in snapshot(selecting).items():
        if "token_selection" in name:
            np.testing.assert_array_equal(value, scorer_init[name])  # left at their init
    plain.eval()
    selecting.eval()
    x = paddle.randn([2, 3, 4, 32, 32])
    np.testing.assert_array_equal(selecting([x], mode="infer").numpy(), plain([x], mode="infer").numpy())


# ------------------------------------------------------------------------------------------ export
@pytest.mark.parametrize("backbone", ["TokenShiftVisionTransformer", "VisionTransformer"])
def test_export_and_onnx_parity_of_a_selecting_model(backbone, tmp_path):
    import onnxruntime as ort

    from paddlevideo.deploy.export import export_onnx, save_inference_model
    from paddlevideo.deploy.predictor import PaddlePredictor, PredictorOptions

    paddle.seed(0)
    model = tiny_model(backbone, SELECTION)
    model.backbone.set_attn_impl("explicit")
    model.eval()
    program, params = save_inference_model(model, [None, 3, 4, 32, 32], str(tmp_path))
    onnx_file = export_onnx(program, params, str(tmp_path / "model.onnx"))
    predictor = PaddlePredictor(program, params, PredictorOptions(cpu_threads=1))
    session = ort.InferenceSession(onnx_file, providers=["CPUExecutionProvider"])
    for batch in (1, 3):  # the batch stays dynamic; every video picks its own frames and windows
        x = np.random.RandomState(batch).randn(batch, 3, 4, 32, 32).astype(np.float32)
        reference = model([paddle.to_tensor(x)], mode="infer").numpy()
        np.testing.assert_allclose(predictor.run(x), reference, atol=1e-5)
        np.testing.assert_allclose(session.run(None, {"imgs": x})[0], reference, atol=1e-5)
    ops = open(program).read()
    assert "take_along_axis" in ops and "topk" in ops  # hard selection (a gather), not a matrix


# ------------------------------------------------------------------------------------------ configs
@pytest.mark.parametrize("path", STTS_CONFIGS, ids=os.path.basename)
def test_shipped_stts_configs_pass_the_checks(path):
    cfg = get_config(path, show=False)
    backbone = cfg["MODEL"]["backbone"]
    assert backbone["token_selection"]
    assert [g["prefix"] for g in cfg["OPTIMIZER"]["param_groups"]] == [
        "backbone.", "head.", "backbone.token_selection."]
    if backbone["embed_dim"] <= 96:  # build the demo models (ViT-B is checked by key only)
        model = build_model(cfg["MODEL"])
        build_param_groups(cfg["OPTIMIZER"], model)


# ------------------------------------------------------------------------------------------ main.py
def tiny_stts_args(demo, out, extra=()):
    config = os.path.join(ROOT, "configs", "recognition", "stts", "demo_tokshift_tiny_stts.yaml")
    sets = [f"output_dir={out}", "epochs=2", "save_interval=1", "log_interval=1", "MODEL.backbone.img_size=32",
            "MODEL.backbone.patch_size=8", "MODEL.backbone.embed_dim=32", "MODEL.backbone.depth=2",
            "MODEL.backbone.num_heads=2", "MODEL.head.in_channels=32", "INFERENCE.target_size=32",
            "OPTIMIZER.param_groups.0.freeze_epochs=1", "OPTIMIZER.param_groups.1.freeze_epochs=1",
            "DATASET.batch_size=4", "DATASET.num_workers=0", "DATASET.valid_batch_size=4",
            "DATASET.test_batch_size=4",
            "PIPELINE.train.transform.0.JitterScale={'min_size': 32, 'max_size': 36}",
            "PIPELINE.train.transform.1.RandomCrop.target_size=32",
            "PIPELINE.valid.transform.0.Scale.short_size=32", "PIPELINE.valid.transform.1.CenterCrop.target_size=32",
            "PIPELINE.test.transform.0.Scale.short_size=32", "PIPELINE.test.transform.1.CenterCrop.target_size=32"]
    for mode in ("train", "valid", "test"):
        sets += [f"DATASET.{mode}.data_prefix={demo}/videos",
                 f"DATASET.{mode}.file_path={demo}/{'train' if mode == 'train' else 'val'}.list"]
    args = ["-c", config]
    for item in sets + list(extra):
        args += ["-o", item]
    return args


def test_main_fine_tunes_a_plain_checkpoint_with_token_selection(demo_data, tmp_path, monkeypatch):
    """Freeze epoch then joint epoch from a plain (selection-free) checkpoint, validation, test; the
    trainer reports its progress to the model before every batch (sigma decays linearly)."""
    import paddlevideo.tasks.train as train_module

    sigmas = []

    def record(model, fraction):
        set_progress(model, fraction)
        sigmas.append(model.backbone.token_selection.temporal.sigma)

    set_progress = train_module.set_training_progress
    monkeypatch.setattr(train_module, "set_training_progress", record)
    cfg = get_config(tiny_stts_args(demo_data, tmp_path)[1], overrides=tiny_stts_args(demo_data, tmp_path)[3::2],
                     show=False)
    plain_cfg = dict(cfg["MODEL"], backbone={k: v for k, v in cfg["MODEL"]["backbone"].items()
                                             if k != "token_selection"})
    paddle.seed(0)
    plain = build_model(plain_cfg)
    weights = str(tmp_path / "plain.pdparams")
    paddle.save(plain.state_dict(), weights)
    out = tmp_path / "run"
    assert main.main(tiny_stts_args(demo_data, out) + ["--validate", "--seed", "0", "-w", weights]) == 0
    first = load_file(str(out / "demo_tokshift_tiny_stts_epoch_00001.pdparams"))
    second = load_file(str(out / "demo_tokshift_tiny_stts_epoch_00002.pdparams"))
    start = plain.state_dict()
    for name in ("backbone.blocks.0.attn.qkv.weight", "head.fc.weight"):  # frozen in epoch 1 only
        np.testing.assert_array_equal(np.asarray(first[name]), start[name].numpy())
        assert not np.array_equal(np.asarray(second[name]), np.asarray(first[name]))
    scorer = "backbone.token_selection.temporal.scorer.in_conv.1.weight"
    assert scorer in first and not np.array_equal(np.asarray(first[scorer]), np.asarray(second[scorer]))
    log = (out / "train.log").read_text()
    assert "validation: 8 of 8 videos scored" in log
    assert "epoch 1: parameter groups frozen: ['backbone.', 'head.']" in log
    assert "epoch 2: parameter groups frozen: none" in log
    # 2 epochs of 4 batches: sigma = 0.1 * (1 - (epoch * 4 + step) / 8)
    np.testing.assert_allclose(sigmas, [0.1 * (1 - i / 8) for i in range(8)], rtol=1e-6)
    assert main.main(tiny_stts_args(demo_data, out) + ["--test", "-w", str(out / "demo_tokshift_tiny_stts_best.pdparams")]) == 0
    results = json.load(open(out / "test_results.json"))
    assert results["scored"] == 8 and 0.0 <= results["top1"] <= 1.0
