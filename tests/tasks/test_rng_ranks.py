"""Every rank's RNG states in the checkpoint; a resume restores this rank's, and what does not fit the
devices visible now (``paddle.set_rng_state`` wants exactly one state per device) is logged and left
seeded. Ranks, world size and device counts are mocked."""
import logging
import random

import numpy as np
import paddle
import pytest

from paddlevideo.tasks import train_checkpoint
from paddlevideo.tasks.train_checkpoint import (
    gather_rng_states,
    load_checkpoint,
    restore_rng_states,
    rng_states,
    save_checkpoint,
)

WORLD = 3


def draws():
    return random.random(), np.random.rand(), paddle.rand([3]).numpy().tolist()


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    paddle.seed(seed)


def seeded_states(seed: int):
    """``rng_states()`` after seeding with ``seed``, and the draws that follow them."""
    seed_all(seed)
    states = rng_states()
    return states, draws()


class Messages(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def warnings_logged():
    """The warnings of the ``paddlevideo`` logger, however earlier tests set it up."""
    logger, handler = logging.getLogger("paddlevideo"), Messages()
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


def as_rank(monkeypatch, rank: int, world: int = WORLD) -> None:
    monkeypatch.setattr(train_checkpoint, "rank", lambda: rank)
    monkeypatch.setattr(train_checkpoint, "world_size", lambda: world)


def generator_states(count: int, first_seed: int) -> list:
    """``count`` distinct generator states, standing for those of ``count`` devices."""
    states = []
    for seed in range(first_seed, first_seed + count):
        paddle.seed(seed)
        states.append(paddle.framework.core.default_cpu_generator().get_state())
    return states


def gpu_generators(monkeypatch, states: list, calls: list) -> None:
    """One visible device per state: ``get_rng_state`` returns ``states``, ``set_rng_state`` records
    what it is given and raises on another length, as ``paddle/framework/random.py`` does on a GPU."""
    monkeypatch.setattr(paddle, "get_rng_state", lambda: list(states))

    def set_rng_state(given):
        if len(given) != len(states):
            raise ValueError("Length of gpu state list should be equal to the gpu device count")
        calls.append([state.__getstate__() for state in given])

    monkeypatch.setattr(paddle, "set_rng_state", set_rng_state)


def test_every_rank_restores_its_own_states_from_the_file(tmp_path, monkeypatch):
    per_rank = [seeded_states(seed) for seed in (10, 11, 12)]
    monkeypatch.setattr(paddle.distributed, "all_gather_object",
                        lambda out, obj: out.extend(states for states, _ in per_rank))
    as_rank(monkeypatch, 0)
    prefix = str(tmp_path / "run_latest")
    save_checkpoint(prefix, {"w": paddle.ones([2])}, {"optimizer": {}, "epoch": 0, "step": 3}, gather_rng_states())
    _, state = load_checkpoint(prefix)  # plain data, through the restricted unpickler
    for rank in (2, 0, 1):
        as_rank(monkeypatch, rank)
        restore_rng_states(state["rng"])
        assert draws() == per_rank[rank][1]


def test_one_process_gathers_nothing(monkeypatch):
    def refuse(*args):
        raise AssertionError("a collective in a one-process run")

    monkeypatch.setattr(paddle.distributed, "all_gather_object", refuse)
    seed_all(5)
    gathered = gather_rng_states()
    expected = draws()
    assert gathered["ranks"] == [seeded_states(5)[0]]
    restore_rng_states(gathered)
    assert draws() == expected


@pytest.mark.parametrize("saved,visible", [(8, 1), (1, 8)])
def test_another_device_count_keeps_the_paddle_generators_seeded(monkeypatch, warnings_logged, saved, visible):
    calls = []
    gpu_generators(monkeypatch, generator_states(saved, 0), calls)
    as_rank(monkeypatch, 0, world=1)
    states = gather_rng_states()
    assert len(states["ranks"][0]["paddle"]) == saved
    python_draw = random.random()
    gpu_generators(monkeypatch, generator_states(visible, 100), calls)
    restore_rng_states(states)
    assert random.random() == python_draw and calls == []
    assert warnings_logged == [
        f"rank 0: the checkpoint holds Paddle RNG states for {saved} device(s), {visible} are visible now; "
        "Paddle's RNG keeps its seeded state (random layers such as dropout will not repeat the interrupted run)"]


def test_the_same_device_count_restores_every_generator(monkeypatch, warnings_logged):
    calls, saved = [], generator_states(8, 0)
    gpu_generators(monkeypatch, saved, calls)
    as_rank(monkeypatch, 0, world=1)
    states = gather_rng_states()
    gpu_generators(monkeypatch, generator_states(8, 100), calls)
    restore_rng_states(states)
    assert calls == [[state.__getstate__() for state in saved]]
    assert not warnings_logged


def test_a_rank_the_checkpoint_has_no_states_for_keeps_its_seeded_rngs(monkeypatch, warnings_logged):
    """A checkpoint of an older format (one state: rank 0's), or of a run with fewer ranks."""
    old, old_draws = seeded_states(1)
    seed_all(2)
    as_rank(monkeypatch, 1)
    restore_rng_states(old)
    assert draws() == seeded_states(2)[1]
    assert warnings_logged == [
        "rank 1: the checkpoint holds the RNG states of 1 rank(s) only; this rank's RNGs keep their seeded state"]
    as_rank(monkeypatch, 0, world=1)
    restore_rng_states(old)  # rank 0 of a one-process resume: the old format as before
    assert draws() == old_draws
