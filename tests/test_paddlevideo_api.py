"""PaddleVideo's Python API and main.py flags, as a user script or command line written for PaddleVideo
uses them."""
import os

import pytest
from test_main import DEMO_CFG, tiny_args

import main


def test_paddlevideo_utils_exports():
    from paddlevideo.utils import (
        AttrDict,
        AverageMeter,
        Registry,
        build,
        get_config,
        get_dist_info,
        get_logger,
        load,
        load_ckpt,
        main_only,
        mkdir,
        save,
        setup_logger,
    )

    cfg = get_config(DEMO_CFG, None, False)  # PaddleVideo's positional show=False: still validated
    assert isinstance(cfg, AttrDict) and cfg.MODEL.backbone.name == "TokenShiftVisionTransformer"
    assert get_dist_info() == (0, 1)
    assert main_only(lambda: 7)() == 7
    assert get_logger("paddlevideo") is setup_logger.__globals__["logging"].getLogger("paddlevideo")
    meter = AverageMeter()
    meter.update(2.0, 3)
    assert meter.avg == 2.0
    assert callable(build) and Registry("x").kind == "x"
    assert all(callable(f) for f in (load, load_ckpt, mkdir, save))


def test_a_third_positional_argument_never_turns_validation_off(tmp_path):
    from paddlevideo.errors import ConfigError
    from paddlevideo.utils import get_config

    with pytest.raises(ConfigError, match="dpeth"):
        get_config(DEMO_CFG, ["MODEL.backbone.dpeth=2"], False)


def test_save_load_and_load_ckpt_round_trip(tmp_path, tiny_model_cfg):
    import numpy as np

    from paddlevideo.modeling.builder import build_model
    from paddlevideo.utils import load, load_ckpt, mkdir, save

    model, other = build_model(tiny_model_cfg), build_model(tiny_model_cfg)
    mkdir(str(tmp_path / "w"))
    save(model.state_dict(), str(tmp_path / "w" / "m.pdparams"))
    assert set(load(str(tmp_path / "w" / "m.pdparams"))) == set(model.state_dict())
    load_ckpt(other, str(tmp_path / "w" / "m.pdparams"))
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), other.state_dict()[key].numpy())


def test_tasks_take_paddlevideo_keywords(demo_data, tmp_path):
    from paddlevideo.tasks import test_model, train_model
    from paddlevideo.utils import get_config

    args = tiny_args(demo_data, tmp_path, epochs=1)
    overrides = [args[i + 1] for i, a in enumerate(args) if a == "-o"]
    cfg = get_config(DEMO_CFG, overrides=overrides, show=False)
    best = train_model(cfg, weights=None, parallel=False, validate=True, use_amp=False, amp_level=None,
                       max_iters=2)
    assert 0.0 <= best <= 1.0
    results = test_model(cfg, weights=str(tmp_path / "demo_tokshift_tiny_epoch_00001.pdparams"), parallel=False)
    assert results["scored"] == 8


def test_max_iters_caps_every_epoch(demo_data, tmp_path):
    assert main.main(tiny_args(demo_data, tmp_path, epochs=2, extra=["log_interval=1"]) + ["--max_iters", "2"]) == 0
    log = open(tmp_path / "train.log").read()
    assert "epoch [2/2] batch 2/2" in log and "batch 3/" not in log


def test_profiler_options_profile_a_step_range_and_exit(demo_data, tmp_path, capsys):
    trace = tmp_path / "trace"
    options = f"batch_range=[1,3];profile_path={trace};timer_only=False"
    with pytest.raises(SystemExit) as info:
        main.main(tiny_args(demo_data, tmp_path / "out", epochs=2) + ["-p", options])
    assert info.value.code == 0
    assert os.listdir(trace) and "profiled steps [1, 3]" in open(tmp_path / "out" / "train.log").read()


@pytest.mark.parametrize("flag", ["--fleet", "--multigrid", "--train_dali"])
def test_unsupported_paddlevideo_flags_say_so(demo_data, tmp_path, capsys, flag):
    assert main.main(tiny_args(demo_data, tmp_path) + [flag]) == 2
    assert "not supported" in capsys.readouterr().err


def test_bad_profiler_options_are_one_line_errors(demo_data, tmp_path, capsys):
    assert main.main(tiny_args(demo_data, tmp_path) + ["-p", "batch_rnage=[1,2]"]) == 2
    assert "profiler_options" in capsys.readouterr().err
