"""Values that must agree across sections may be written once, in the backbone: the others are derived;
where they are given, the check still catches a disagreement."""
from pathlib import Path

import pytest
import yaml

from paddlevideo.config import get_config
from paddlevideo.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "configs" / "recognition" / "tokshift" / "demo_tokshift_tiny.yaml"


def demo_without(tmp_path: Path, edit) -> Path:
    raw = yaml.safe_load(DEMO.read_text())
    edit(raw)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def drop_agreeing_values(raw) -> None:
    del raw["MODEL"]["head"]["in_channels"]
    for mode in ("train", "valid", "test"):
        del raw["PIPELINE"][mode]["sample"]["num_seg"]
    raw["INFERENCE"].pop("num_seg", None)
    raw["INFERENCE"].pop("target_size", None)


def test_left_out_values_come_from_the_backbone(tmp_path):
    from paddlevideo.loader.pipelines import Compose
    from paddlevideo.modeling.builder import build_model

    cfg = get_config(str(demo_without(tmp_path, drop_agreeing_values)), show=False)
    backbone = cfg.MODEL.backbone
    assert cfg.MODEL.head.in_channels == backbone.embed_dim == 96
    assert all(cfg.PIPELINE[mode].sample.num_seg == backbone.num_seg == 8 for mode in ("train", "valid", "test"))
    assert (cfg.INFERENCE.num_seg, cfg.INFERENCE.target_size) == (8, backbone.img_size)
    assert cfg == get_config(str(DEMO), show=False)  # the same config as the one that writes them all
    build_model(cfg.MODEL)
    assert Compose(cfg.PIPELINE.valid).read_ops[1].num_seg == 8


def test_an_override_of_the_backbone_carries_to_the_derived_values(tmp_path):
    cfg = get_config(str(demo_without(tmp_path, drop_agreeing_values)), show=False,
                     overrides=["MODEL.backbone.num_seg=4", "MODEL.backbone.embed_dim=48"])
    assert cfg.PIPELINE.train.sample.num_seg == cfg.INFERENCE.num_seg == 4
    assert cfg.MODEL.head.in_channels == 48


@pytest.mark.parametrize("edit, expected", [
    (lambda raw: raw["PIPELINE"]["valid"]["sample"].update(num_seg=4), r"PIPELINE.valid.sample.num_seg \(4\)"),
    (lambda raw: raw["MODEL"]["head"].update(in_channels=32), "in_channels"),
])
def test_given_values_that_disagree_still_fail(tmp_path, edit, expected):
    with pytest.raises(ConfigError, match=expected):
        get_config(str(demo_without(tmp_path, edit)), show=False)
