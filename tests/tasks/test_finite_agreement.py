"""A non-finite training loss stops every rank at the same micro-batch (they agree, as on the stop flag),
so none is left waiting in the gradient all-reduce; one process adds no collective. The other ranks
are mocked through ``paddle.distributed.all_reduce``."""
from types import SimpleNamespace

import numpy as np
import paddle
import pytest

from paddlevideo.errors import TrainingError
from paddlevideo.tasks import train as train_module
from paddlevideo.utils import runtime

STOPPED = "at epoch 1, batch 3; stopping. The last good checkpoint is run_epoch_00000.pdparams"


def check(loss: float, scaler=None) -> None:
    """``Trainer.check_finite`` at epoch 1, batch 3."""
    trainer = SimpleNamespace(scaler=scaler, epoch=0, step=2, last_checkpoint="run_epoch_00000.pdparams")
    train_module.Trainer.check_finite(trainer, loss)


def ranks(monkeypatch, world: int, others_finite: bool = True) -> list:
    """``world`` ranks whose others have finite losses or not; returns the all-reduce ops called."""
    calls = []

    def all_reduce(tensor, op):
        calls.append(op)
        tensor.set_value(np.maximum(tensor.numpy(), np.int32(not others_finite)))

    monkeypatch.setattr(runtime, "world_size", lambda: world)
    monkeypatch.setattr(paddle.distributed, "all_reduce", all_reduce)
    return calls


def test_one_process_stops_as_before_without_a_collective(monkeypatch):
    calls = ranks(monkeypatch, 1)
    check(1.5)
    with pytest.raises(TrainingError) as err:
        check(float("nan"))
    assert str(err.value) == f"the training loss is nan {STOPPED}"
    assert calls == []


@pytest.mark.parametrize("loss,others_finite,message", [
    (1.5, True, None),
    (float("inf"), True, f"the training loss is inf {STOPPED}"),
    (1.5, False, f"the training loss is not finite on another rank {STOPPED}"),
    (float("nan"), False, f"the training loss is nan {STOPPED}"),
])
def test_every_rank_stops_when_any_loss_is_not_finite(monkeypatch, loss, others_finite, message):
    calls = ranks(monkeypatch, 2, others_finite)
    if message is None:
        check(loss)
    else:
        with pytest.raises(TrainingError) as err:
            check(loss)
        assert str(err.value) == message
    assert calls == [paddle.distributed.ReduceOp.MAX]


def test_with_a_loss_scaler_nothing_is_checked_or_agreed(monkeypatch):
    """The scaler skips an update whose gradients are not finite, on every rank alike."""
    calls = ranks(monkeypatch, 2, others_finite=False)
    check(float("nan"), scaler=object())
    assert calls == []
