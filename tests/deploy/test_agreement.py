"""Parity (fp32) and int8 agreement bookkeeping, on hand-made logits."""
import numpy as np

from paddlevideo.deploy.agreement import (
    AgreementResult,
    ParityResult,
    check_int8_agreement,
    check_parity,
    clip_cases,
    logit_agreement,
    parity_cases,
    random_input,
)


def test_parity_reports_max_difference_and_shape_mismatch():
    shape = [None, 3, 2, 4, 4]
    cases = parity_cases(lambda x: x.reshape(len(x), -1)[:, :5], shape, batch_sizes=(1, 3))
    assert [imgs.shape[0] for imgs, _ in cases] == [1, 3]
    good = check_parity("same", lambda x: x.reshape(len(x), -1)[:, :5] + 5e-5, cases, atol=1e-4)
    assert good.ok and good.batch_sizes == [1, 3] and abs(good.max_abs_diff - 5e-5) < 1e-6
    assert "-> OK" in good.message()
    bad = check_parity("wrong shape", lambda x: np.zeros((len(x), 4)), cases, atol=1e-4)
    assert not bad.ok and "FAILED" in bad.message()
    assert not ParityResult("nan", [1], float("nan"), 1e-4).ok


def test_random_input_is_reproducible_and_in_normalised_range():
    a, b = random_input([None, 3, 4, 8, 8], 2, seed=1), random_input([None, 3, 4, 8, 8], 2, seed=1)
    assert a.shape == (2, 3, 4, 8, 8) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert a.min() >= -1 and a.max() < 1


def test_logit_agreement_counts_same_argmax_rows():
    ref = np.array([[0.0, 1.0, 0.5], [2.0, 0.0, 1.0]])
    assert logit_agreement(ref, ref + np.array([[0.0, 0.0, 0.75], [0.0, 0.0, 0.0]])) == (0.75, 1)
    assert logit_agreement(ref, ref[:1]) == (float("inf"), 0)


def test_int8_agreement_is_relative_to_the_logit_range():
    ref = np.array([[0.0, 10.0, 2.0], [4.0, 0.0, 1.0]])  # largest per-row range 10
    cases = [(np.arange(2), ref)]
    close = check_int8_agreement("int8", lambda _: ref + 0.5, cases, "random input", rtol=0.1)
    assert close.ok and close.n == 2 and close.agree == 2 and close.logit_range == 10.0
    assert abs(close.rel_diff - 0.05) < 1e-12 and "-> OK" in close.message()
    far = check_int8_agreement("int8", lambda _: ref + 2.0, cases, "random input", rtol=0.1)
    assert not far.ok and "FAILED" in far.message()


def test_int8_agreement_judges_top1_only_when_asked():
    ref = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    flipped = ref.copy()
    flipped[0] = [0.0, 1.0]  # one of four rows changes its top-1 class; diff 1 = 100% of the range
    reported = check_int8_agreement("int8", lambda _: flipped, [(None, ref)], "random input", rtol=1.0)
    assert reported.ok and reported.agree == 3 and reported.min_agreement is None
    judged = check_int8_agreement("int8", lambda _: flipped, [(None, ref)], "4 real clips", rtol=1.0,
                                  min_agreement=0.9)
    assert not judged.ok and "top-1 agreement 3/4 (75%)" in judged.message()
    assert not AgreementResult("empty", "none", 0, 0.0, 0.0, 0, 0.1).ok  # zero range: infinite rel_diff


def test_clip_cases_batch_the_clips_and_their_reference():
    clips = np.arange(5, dtype=np.float32)[:, None]
    cases = list(clip_cases(lambda batch: batch * 2, clips, batch_size=2))
    assert [len(imgs) for imgs, _ in cases] == [2, 2, 1]
    np.testing.assert_array_equal(cases[2][1], [[8.0]])
