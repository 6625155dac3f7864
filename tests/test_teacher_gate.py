"""The promotion gate's choices on real reports: which round's adapter it weighs, and when a
candidate wins. ``test_distill_job`` runs the whole job against a real teacher server."""

from __future__ import annotations

from extractly.evaluation import EvalReport
from extractly.scoring import FieldCounts
from extractly.teacher.gate import BASE, CANDIDATE, decide
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
