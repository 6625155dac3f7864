"""The promotion gate's choices on real reports: which round's adapter it weighs, and when a
candidate wins. ``test_distill_job`` runs the whole job against a real teacher server."""

from __future__ import annotations

import pytest

from extractly.evaluation import EvalReport
from extractly.scoring import FieldCounts
from extractly.teacher.gate import BASE, CANDIDATE, REGISTERED, decide, f1_difference
from extractly.teacher.job import DistillReport, RoundReport, best_round


def test_the_candidate_is_the_round_with_the_best_held_out_f1_not_the_last() -> None:
    rounds = [RoundReport(1, 25, 25, "r1.gguf", 0.527), RoundReport(2, 25, 50, "r2.gguf", 0.851),
              RoundReport(3, 50, 100, "r3.gguf", 0.896), RoundReport(4, 50, 150, "r4.gguf", 0.885)]
    best = best_round(rounds)
    assert best is not None and best.round == 3


def test_a_tie_goes_to_the_later_round_which_saw_more_labels() -> None:
    rounds = [RoundReport(1, 25, 25, "r1.gguf", 0.9), RoundReport(2, 25, 50, "r2.gguf", 0.9),
              RoundReport(3, 50, 100, "r3.gguf", 0.8)]
    best = best_round(rounds)
    assert best is not None and best.round == 2


def test_rounds_that_were_not_tuned_give_no_candidate() -> None:
    # a label-only job stops before tuning: nothing for the gate to weigh
    assert best_round([RoundReport(1, 25, 25)]) is None
    assert best_round([]) is None


def test_the_report_names_the_candidate_round_when_there_were_several() -> None:
    report = DistillReport("out", 100, [], 30,
                           [RoundReport(1, 25, 25, "r1.gguf", 0.9, 12.0),
                            RoundReport(2, 25, 50, "r2.gguf", 0.8, 20.0)], {})
    report.candidate_round = 1
    assert "candidate: round 1, the best held-out F1" in report.format()


def _report(city: FieldCounts) -> EvalReport:
    """A report on two valid documents with one field, as ``evaluate`` fills it."""
    return EvalReport("City", "base.gguf", None, 2, 2, city.tp, {"city": city}, 1.0)


def test_the_gate_promotes_only_a_strict_win() -> None:
    right = _report(FieldCounts(tp=2, n=2))  # both cities found
    half = _report(FieldCounts(tp=1, fn=1, n=2))  # one missed
    assert decide({CANDIDATE: right, BASE: half}).promote
    tie = decide({CANDIDATE: right, BASE: right})
    assert not tie.promote and "does not beat base few-shot" in tie.reason


def _documents(*per_doc: tuple[int, int, int]) -> EvalReport:
    """A report whose documents have the given (tp, fp, fn) counts over one field."""
    docs = [FieldCounts(tp=tp, fp=fp, fn=fn, n=1) for tp, fp, fn in per_doc]
    summed = sum(docs, FieldCounts())
    return EvalReport("City", "base.gguf", None, len(docs), len(docs), 0, {"city": summed}, 1.0,
                      documents=docs)


def test_the_same_scores_text_by_text_differ_by_exactly_nothing() -> None:
    # paired: a resample scores both contenders on the same texts, so identical per-text
    # scores give a zero-width interval, however much the texts differ from one another
    varied = _documents(*[(2, 0, 0)] * 15, *[(0, 1, 2)] * 15)
    d = f1_difference(varied, _documents(*[(2, 0, 0)] * 15, *[(0, 1, 2)] * 15))
    assert (d.f1, d.low, d.high) == (0.0, 0.0, 0.0) and not d.clear


def test_a_lead_on_every_text_is_clear_and_a_lead_on_one_text_is_noise() -> None:
    right = _documents(*[(2, 0, 0)] * 30)
    half = _documents(*[(1, 0, 1)] * 30)
    one_miss = _documents(*[(2, 0, 0)] * 29, (1, 0, 1))
    clear = f1_difference(right, half)
    assert clear.clear and clear.low <= clear.f1 <= clear.high
    assert clear.f1 == pytest.approx(1.0 - 2 / 3)
    noise = f1_difference(right, one_miss)
    assert noise.f1 > 0 and noise.low <= 0 < noise.high and not noise.clear


def test_the_strict_gate_refuses_a_lead_inside_the_noise_and_the_plain_one_says_so() -> None:
    right = _documents(*[(2, 0, 0)] * 30)
    one_miss = _documents(*[(2, 0, 0)] * 29, (1, 0, 1))
    half = _documents(*[(1, 0, 1)] * 30)
    plain = decide({CANDIDATE: right, REGISTERED: one_miss, BASE: half})
    assert plain.promote and "inside the noise of 30 texts" in plain.reason
    strict = decide({CANDIDATE: right, REGISTERED: one_miss, BASE: half}, strict=True)
    assert not strict.promote and "the lead over registered is inside the noise" in strict.reason
    assert strict.differences is not None and strict.differences[BASE].clear
    assert decide({CANDIDATE: right, BASE: half}, strict=True).promote


def test_a_loss_on_every_text_is_refused_without_calling_it_noise() -> None:
    # the interval is wholly below zero: as clear as a lead, and the reason must not hedge
    right = _documents(*[(2, 0, 0)] * 30)
    half = _documents(*[(1, 0, 1)] * 30)
    loss = decide({CANDIDATE: half, REGISTERED: right})
    assert loss.differences is not None and loss.differences[REGISTERED].high < 0
    assert not loss.promote and "does not beat registered" in loss.reason
    assert "noise" not in loss.reason


def test_reports_of_different_texts_are_not_compared_text_by_text() -> None:
    with pytest.raises(ValueError, match="same rows"):
        f1_difference(_documents((2, 0, 0)), _documents((2, 0, 0), (1, 0, 1)))
    # a report built without per-document counts: the gate decides on F1 alone
    bare = EvalReport("City", "base.gguf", None, 2, 2, 2, {"city": FieldCounts(tp=2, n=2)}, 1.0)
    assert decide({CANDIDATE: bare, BASE: _report(FieldCounts(tp=1, fn=1, n=2))}).promote
