"""Gradient accumulation: group sizes and weights, config errors, and 4 x 2 == 1 x 8 end to end."""
import numpy as np
import pytest

from paddlevideo.errors import ConfigError
from paddlevideo.tasks.accumulation import AccumulationGroups, accumulation_steps


def test_steps_from_the_global_batch():
    assert accumulation_steps({}, 4, 1) == 1
    assert accumulation_steps({"GRADIENT_ACCUMULATION": {"global_batch_size": 420}}, 21, 2) == 10


@pytest.mark.parametrize("section,message", [
    ({"global_batch_size": 100}, "multiple of batch_size x processes"),
    ({"global_batch_size": 8.0}, "multiple of"),
    ({"global_batch": 8}, "unknown key"),
])
def test_bad_sections_are_config_errors(section, message):
    with pytest.raises(ConfigError, match=message):
        accumulation_steps({"GRADIENT_ACCUMULATION": section}, 21, 2)


def test_last_short_group_is_weighted_by_its_real_size():
    groups = AccumulationGroups(num_batches=10, steps=4)  # groups of 4, 4, 2
    assert groups.updates_per_epoch() == 3
    assert [groups.closes_group(b) for b in range(10)] == [False, False, False, True] * 2 + [False, True]
    assert [groups.weight(b) for b in range(10)] == [0.25] * 8 + [0.5, 0.5]


def test_four_micro_batches_of_two_equal_one_batch_of_eight(demo_data, tmp_path):
    """Same samples per update (the order is a function of the seed), no dropout: same weights.

    Plain momentum SGD without clipping, whose update is proportional to the gradient (Adam's
    normalisation would hide a wrongly scaled accumulated gradient)."""
    from test_main import tiny_args

    import main
    from paddlevideo.utils.checkpoint import load_file

    sgd = "OPTIMIZER={'name': 'Momentum', 'momentum': 0.9, 'learning_rate': 0.5}"
    finals = []
    for name, extra in (("big", ["DATASET.batch_size=8"]),
                        ("accumulated", ["DATASET.batch_size=2", "GRADIENT_ACCUMULATION={'global_batch_size': 8}"])):
        out = tmp_path / name
        assert main.main(tiny_args(demo_data, out, epochs=2, extra=extra + [sgd, "DATASET.num_workers=0"])
                         + ["--seed", "3"]) == 0
        finals.append(load_file(str(out / "demo_tokshift_tiny_epoch_00002.pdparams")))
    worst = max(float(np.abs(np.asarray(finals[0][k]) - np.asarray(finals[1][k])).max()) for k in finals[0])
    assert worst < 1e-5, worst
    moved = max(float(np.abs(np.asarray(finals[0][k])).max()) for k in finals[0])
    assert moved > 0
