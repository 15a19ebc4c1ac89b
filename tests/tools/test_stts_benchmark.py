"""tools/benchmark/stts.py: the analytical FLOPs and the timing of full vs selecting models."""
import pytest
import yaml

from tools.benchmark import infer, stts


def vitb_cfg():
    with open(stts.VITB_CONFIG, encoding="utf-8") as f:
        return yaml.safe_load(f)


def test_full_model_flops_match_the_inference_benchmark_and_the_paper():
    cfg = vitb_cfg()
    full = stts.tokshift_flops(cfg["MODEL"]["backbone"])
    assert full == infer.vit_matmul_flops(cfg, 8)
    assert full / 1e9 == pytest.approx(281.0, abs=0.5)


def test_selected_flops_count_the_kept_tokens_and_the_scorers():
    backbone = vitb_cfg()["MODEL"]["backbone"]
    full = stts.tokshift_flops(backbone)
    temporal = stts.tokshift_flops(backbone, {"temporal": {"block": 0, "keep": 0.5}})
    scorer = stts.scorer_flops(8 * 196, 768)
    embed = 2.0 * 8 * 196 * 768 * 3 * 256  # the patch embedding runs before the selection, on all frames
    assert temporal == pytest.approx((full - embed) / 2 + embed + scorer)  # every block runs 4 of 8 frames
    both = stts.tokshift_flops(backbone, {"temporal": {"block": 0, "keep": 0.5}, "spatial": {"block": 4, "keep": 0.7}})
    assert both < temporal
    # 12x12 of 14x14 patches in blocks 4..11: the per-frame cost of those blocks with 145 tokens
    per_frame = stts.tokshift_flops(dict(backbone, num_seg=1, depth=1))
    block_197 = per_frame - embed / 8
    block_145 = 2.0 * 145 * (4 * 768 * 768 + 2 * 768 * 3072) + 4.0 * 145 * 145 * 768
    expected = temporal - 4 * 8 * (block_197 - block_145) + stts.scorer_flops(4 * 196, 768)
    assert both == pytest.approx(expected)


def test_timing_child_times_full_and_selecting_models(tmp_path):
    """One tiny config, three settings: every path has a time per setting (exports are parity-checked)."""
    config = str(tmp_path / "tiny.yaml")
    cfg = yaml.safe_load(open(stts.STTS_CONFIG))
    backbone = cfg["MODEL"]["backbone"]
    backbone.update(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2)
    cfg["MODEL"]["head"]["in_channels"] = 32
    cfg["INFERENCE"]["target_size"] = 32
    for mode in ("train", "valid", "test"):
        transforms = cfg["PIPELINE"][mode]["transform"]
        transforms[0] = {"JitterScale": {"min_size": 32, "max_size": 36}} if mode == "train" else {"Scale": {"short_size": 32}}
        transforms[1] = {"RandomCrop" if mode == "train" else "CenterCrop": {"target_size": 32}}
    yaml.safe_dump(cfg, open(config, "w"))
    specs = {"full": {"config": config, "overrides": ["MODEL.backbone.token_selection=None"]},
             "T0.5": {"config": config, "overrides": ["MODEL.backbone.token_selection={'temporal': {'block': 0, 'keep': 0.5}}"]},
             "both": {"config": config, "overrides": []}}
    timings = stts.time_models(specs, threads=1, batch=2, warmup=1, repeats=2, pause=0.0)
    assert set(timings) == {"dygraph", "paddle", "onnxruntime"}
    for per_model in timings.values():
        assert set(per_model) == set(specs) and all(t > 0 for t in per_model.values())
    row = stts.ratio_row("T0.5", timings)
    assert row.count("ms") == 3 and "x)" in row
