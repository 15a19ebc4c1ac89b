"""Latency statistics and round-robin timing."""
from paddlevideo.deploy.timing import StageTimer, interleaved_timings, latency_stats


def test_latency_stats():
    stats = latency_stats([0.1 * i for i in range(1, 11)])
    assert stats["n"] == 10 and abs(stats["median"] - 0.55) < 1e-9 and abs(stats["p90"] - 0.91) < 1e-9
    assert latency_stats([]) == {"n": 0}


def test_interleaved_timings_runs_round_robin():
    calls = []
    times = interleaved_timings({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                                warmup=1, repeats=2)
    assert calls == ["a", "b"] * 3
    assert {k: len(v) for k, v in times.items()} == {"a": 2, "b": 2}


def test_stage_timer_records_even_when_the_stage_raises():
    timer = StageTimer()
    with timer("inference"):
        pass
    try:
        with timer("preprocess"):
            raise ValueError
    except ValueError:
        pass
    assert set(timer.summary()) == {"inference", "preprocess"}
