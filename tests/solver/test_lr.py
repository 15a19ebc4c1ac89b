"""LR schedules built from OPTIMIZER: per-iteration, with warm-up."""
import numpy as np
import paddle
import pytest

from paddlevideo.modeling.builder import build_model
from paddlevideo.solver import build_optimizer


def lrs(sched, n):
    out = []
    for _ in range(n):
        out.append(sched.get_lr())
        sched.step()
    return out


def test_multistep_with_warmup(tiny_model_cfg):
    cfg = {"name": "Momentum", "momentum": 0.9, "use_nesterov": True,
           "learning_rate": {"name": "MultiStepDecay", "learning_rate": 0.1, "milestones": [2, 3],
                             "gamma": 0.1, "warmup_epochs": 1, "warmup_start_lr": 0.0}}
    opt, sched = build_optimizer(cfg, build_model(tiny_model_cfg), iters_per_epoch=4, epochs=4)
    assert isinstance(opt, paddle.optimizer.Momentum)
    got = lrs(sched, 16)
    np.testing.assert_allclose(got[:4], [0.0, 0.025, 0.05, 0.075])
    np.testing.assert_allclose(got[4:8], [0.1] * 4)
    np.testing.assert_allclose(got[8:12], [0.01] * 4)
    np.testing.assert_allclose(got[12:], [0.001] * 4, rtol=1e-9)


def test_cosine_reaches_eta_min(tiny_model_cfg):
    cfg = {"name": "AdamW", "weight_decay": 0.05,
           "learning_rate": {"name": "CosineAnnealingDecay", "learning_rate": 1e-3, "eta_min": 1e-5}}
    _, sched = build_optimizer(cfg, build_model(tiny_model_cfg), iters_per_epoch=5, epochs=2)
    got = lrs(sched, 11)
    assert got[0] == pytest.approx(1e-3) and got[5] == pytest.approx((1e-3 + 1e-5) / 2)
    assert got[10] == pytest.approx(1e-5)
