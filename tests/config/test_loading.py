"""Config loading, overrides and check_config on every shipped YAML."""
import glob
import os

import pytest
import yaml

from paddlevideo.config import get_config
from paddlevideo.registry import ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIGS = sorted(glob.glob(os.path.join(ROOT, "configs", "recognition", "tokshift", "*.yaml")))
DEMO = os.path.join(ROOT, "configs", "recognition", "tokshift", "demo_tokshift_tiny.yaml")


def test_configs_are_shipped():
    names = {os.path.basename(p) for p in CONFIGS}
    assert {"demo_tokshift_tiny.yaml", "demo_vit_tiny.yaml", "tokshift_ucf101_256_8f.yaml",
            "k400_vit_8x32_224.yaml", "k400_tokshift_div4_8x32_base_224.yaml",
            "k400_tokshift_div4_8x32_base_256.yaml", "k400_tokshift_div4_8x32_base_384.yaml",
            "k400_tokshift_div4_16x32_base_224.yaml", "k400_tokshift_div4_8x32_large_384.yaml",
            "k400_tokshift_div4_12x32_large_384.yaml"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=os.path.basename)
def test_every_config_loads_and_checks(path):
    cfg = get_config(path)
    backbone = cfg.MODEL.backbone
    assert cfg.MODEL.head.in_channels == backbone.embed_dim
    assert cfg.INFERENCE.num_seg == backbone.num_seg
    assert cfg.output_dir == os.path.join("output", cfg.model_name)


def test_zoo_values():
    large = get_config(os.path.join(ROOT, "configs/recognition/tokshift/k400_tokshift_div4_12x32_large_384.yaml"))
    assert (large.MODEL.backbone.embed_dim, large.MODEL.backbone.depth, large.MODEL.backbone.num_heads,
            large.MODEL.backbone.num_seg, large.MODEL.backbone.img_size) == (1024, 24, 16, 12, 384)
    vit = get_config(os.path.join(ROOT, "configs/recognition/tokshift/k400_vit_8x32_224.yaml"))
    assert vit.MODEL.backbone.shift_div == 0
    ucf = get_config(os.path.join(ROOT, "configs/recognition/tokshift/tokshift_ucf101_256_8f.yaml"))
    assert ucf.OPTIMIZER.learning_rate.learning_rate == 0.0609 and ucf.OPTIMIZER.use_nesterov
    assert ucf.epochs == 25 and ucf.MODEL.head.ls_eps == 0.01 and ucf.OPTIMIZER.grad_clip.value == 1.0


def test_overrides_are_literals_and_dotted():
    cfg = get_config(DEMO, overrides=["MODEL.backbone.depth=2", "OPTIMIZER.learning_rate.learning_rate=1e-3",
                                      "model_name=x", "PIPELINE.train.transform.0.JitterScale.max_size=70",
                                      "MODEL.backbone.qkv_bias=False", "output_dir=/tmp/o"])
    assert cfg.MODEL.backbone.depth == 2 and cfg.MODEL.backbone.qkv_bias is False
    assert cfg.OPTIMIZER.learning_rate.learning_rate == 1e-3
    assert cfg.PIPELINE.train.transform[0]["JitterScale"]["max_size"] == 70
    assert cfg.output_dir == "/tmp/o"


def test_default_output_dir_follows_model_name():
    assert get_config(DEMO, overrides=["model_name=abc"]).output_dir == os.path.join("output", "abc")


def test_scientific_notation_without_dot_is_a_float(tmp_path):
    text = open(DEMO).read().replace("epsilon: 1.0e-6", "epsilon: 1e-6")
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert get_config(str(path)).MODEL.backbone.epsilon == 1e-6


@pytest.mark.parametrize("override,message", [
    ("MODEL.backbone.dpeth=2", "Nearest existing keys: \\['depth'\\]"),
    ("MODEL.backbone.depth=two", "key 'depth' expects int"),
    ("MODEL.backbone.name=ViT", "Unknown backbone 'ViT'"),
    ("MODEL.backbone.num_seg=4", "PIPELINE.train.sample.num_seg \\(8\\) must equal MODEL.backbone.num_seg \\(4\\)"),
    ("MODEL.backbone.img_size=48", "target_size \\(64\\) must equal MODEL.backbone.img_size \\(48\\)"),
    ("MODEL.head.in_channels=64", "in_channels \\(64\\) must equal MODEL.backbone.embed_dim"),
    ("PIPELINE.train.transform.0.JitterScale={'min': 1}", "unknown key 'min'"),
    ("OPTIMIZER.name=SGD", "Unknown optimizer 'SGD'"),
    ("OPTIMIZER.learning_rate.name=Poly", "Unknown lr schedule"),
    ("METRIC.name=Top1", "Unknown metric"),
    ("INFERENCE.num_seg=16", "INFERENCE.num_seg \\(16\\) must equal"),
    ("epochs=ten", "'epochs' expects int"),
    ("DATASET.train.format=RawFramesDataset", "Unknown dataset"),
    ("noequals", "KEY=VALUE"),
])
def test_bad_configs_name_the_problem(override, message):
    with pytest.raises(ConfigError, match=message):
        get_config(DEMO, overrides=[override])


def test_unknown_section_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        get_config(str(tmp_path / "nope.yaml"))
    cfg = yaml.safe_load(open(DEMO))
    cfg["SOLVER"] = {}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match="unknown section or key 'SOLVER'"):
        get_config(str(path))
    path.write_text("MODEL: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        get_config(str(path))


def test_overrides_may_add_keys_the_schema_accepts():
    cfg = get_config(DEMO, overrides=["MODEL.backbone.attn_impl=explicit", "DATASET.test_num_workers=0",
                                      "PIPELINE.train.sample.dense_stride=4", "OPTIMIZER.beta1=0.8",
                                      "OPTIMIZER.learning_rate.eta_min=1e-6", "DATASET.train.suffix=.avi"])
    assert (cfg.MODEL.backbone.attn_impl, cfg.DATASET.test_num_workers, cfg.OPTIMIZER.beta1) == ("explicit", 0, 0.8)
    assert cfg.PIPELINE.train.sample.dense_stride == 4 and cfg.DATASET.train.suffix == ".avi"
    with pytest.raises(ConfigError, match="Nearest existing keys: \\['test_num_workers'"):
        get_config(DEMO, overrides=["DATASET.tset_num_workers=0"])
    with pytest.raises(ConfigError, match="no key 'pipeline'"):
        get_config(DEMO, overrides=["DATASET.train.pipeline=x"])
