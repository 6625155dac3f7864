"""The fallback chain's policy with ``FunctionBackend``s: no model, no server, milliseconds.

What only a real server shows (HTTP status handling, timeouts on the wire, the OpenAI request
shapes) stays in ``test_fallback.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from extractly import (
    BackendAnswer,
    BackendRequestError,
    Chain,
    Extraction,
    FallbackExhaustedError,
    InputError,
    OutputValidationError,
    RetryPolicy,
    TruncatedOutputError,
    Usage,
    read_distill_log,
)
from extractly.backends.base import BackendRequest
from extractly.errors import ExtractlyError
from extractly.schema import load_schema
from extractly.settings import Safeguards
from extractly.testing import FunctionBackend
from extractly.validate import OutputValidator
from tests.support.invoice import Invoice

SPEC = load_schema(Invoice, Safeguards())
VALIDATOR = OutputValidator(SPEC)
GOOD = '{"date":"2024-03-03"}'
WORDY = '{"date":"March 3, 2024"}'
FAST = RetryPolicy(attempts=3, initial=0.001, max_wait=0.002, jitter=0.0)


def request(text: str = "Invoice dated March 3, 2024.") -> BackendRequest:
    return BackendRequest(text=text, spec=SPEC)


def run(chain: Chain, text: str = "Invoice dated March 3, 2024.") -> Extraction[Invoice]:
    outcome = chain.run(request(text), VALIDATOR)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def test_a_validation_failure_is_fed_back_once_then_accepted() -> None:
    first = FunctionBackend.returning(WORDY, GOOD, name="small")
    result = run(Chain([first]))
    assert [a.step for a in result.attempts] == ["first", "reask"]
    assert "not an ISO date" in (result.attempts[0].error or "")
    assert result.value.date == "2024-03-03" and result.backend == "small"
    feedback = first.calls[1].feedback
    assert feedback is not None and feedback.raw_text == WORDY and "ISO" in feedback.error


def test_reask_happens_once_then_the_next_backend_answers() -> None:
    first = FunctionBackend.returning(WORDY, name="small")
    second = FunctionBackend.returning(GOOD, name="large")
    result = run(Chain([first, second]))
    assert [a.step for a in result.attempts] == ["first", "reask", "fallback"]
    assert len(first.calls) == 2 and result.backend == "large"


def test_no_reask_after_truncation() -> None:
    cut = BackendAnswer('{"date":"2024-0', Usage(1, 0, 5, 2, 0.0), stop_reason="max_tokens")
    first = FunctionBackend(lambda r: cut, name="small")
    second = FunctionBackend.returning(GOOD, name="large")
    result = run(Chain([first, second]))
    assert [a.step for a in result.attempts] == ["first", "fallback"]
    assert (result.attempts[0].error or "").startswith("TruncatedOutputError")
    assert len(first.calls) == 1


def test_a_transient_error_is_retried_and_a_validation_error_is_not() -> None:
    busy = BackendRequestError("HTTP 429", status=429, retryable=True)
    flaky = FunctionBackend.returning(busy, busy, GOOD, name="api")
    result = run(Chain([flaky], reask=False, retry=FAST))
    assert [a.step for a in result.attempts] == ["first", "retry", "retry"]
    assert [a.error is None for a in result.attempts] == [False, False, True]
    wrong = FunctionBackend.returning(WORDY, name="api")
    with pytest.raises(OutputValidationError):
        run(Chain([wrong], reask=False, retry=FAST))
    assert len(wrong.calls) == 1
    refused = FunctionBackend.returning(BackendRequestError("HTTP 401", status=401), name="api")
    with pytest.raises(BackendRequestError):
        run(Chain([refused], reask=False, retry=FAST))
    assert len(refused.calls) == 1  # not retryable


def test_an_unsure_answer_is_kept_when_every_later_backend_fails() -> None:
    unsure = FunctionBackend.returning(GOOD, name="small", field_confidence={"/date": 0.4})
    down = FunctionBackend.returning(BackendRequestError("refused", retryable=True), name="api")
    result = run(Chain([unsure, down], min_confidence=0.9, retry=FAST))
    assert result.value.date == "2024-03-03" and result.backend == "small"
    assert [a.step for a in result.attempts] == ["first", "fallback", "retry", "retry"]
    assert (result.attempts[0].error or "").startswith("low confidence: 0.400")
    assert result.attempts[-1].error is not None  # not accepted, but the best there was
    assert len(unsure.calls) == 1  # valid but unsure: no re-ask


def test_the_more_confident_of_two_unsure_answers_wins() -> None:
    a = FunctionBackend.returning(GOOD, name="a", field_confidence={"/date": 0.3})
    b = FunctionBackend.returning(
        '{"date":"2024-03-04"}', name="b", field_confidence={"/date": 0.6}
    )
    result = run(Chain([a, b], min_confidence=0.9))
    assert result.backend == "b" and result.value.date == "2024-03-04"
    assert result.confidence == pytest.approx(0.6)


def test_no_backend_starts_after_the_deadline() -> None:
    def slow(request: BackendRequest) -> str:
        time.sleep(0.3)
        return WORDY

    second = FunctionBackend.returning(GOOD, name="large")
    started = time.monotonic()
    with pytest.raises(FallbackExhaustedError) as info:
        run(Chain([FunctionBackend(slow, name="small"), second], deadline=0.2))
    assert time.monotonic() - started < 2
    steps = [(a.backend, a.step) for a in info.value.attempts]
    assert steps == [("small", "first"), ("large", "skipped")]
    assert "deadline passed" in (info.value.attempts[-1].error or "")
    assert second.calls == []


def test_only_answers_of_later_backends_are_distilled(tmp_path: Path) -> None:
    log = tmp_path / "distill.jsonl"

    def small(request: BackendRequest) -> str:
        return GOOD if "2024-03-03" in request.text else WORDY

    chain = Chain(
        [FunctionBackend(small, name="small"), FunctionBackend.returning(GOOD, name="large")],
        reask=False,
        distill_log=log,
    )
    texts = ["Paid 2024-03-03.", "Paid March 3, 2024.", "Paid on 2024-03-03 again."]
    results = list(chain.run_many([request(t) for t in texts], VALIDATOR, batch_size=2))
    assert [r.backend for r in results if isinstance(r, Extraction)] == ["small", "large", "small"]
    assert list(read_distill_log(log)) == [(texts[1], {"date": "2024-03-03"})]


def test_a_single_backend_surfaces_its_own_error() -> None:
    cut = BackendAnswer('{"date":"2024-0', Usage(1, 0, 5, 2, 0.0), stop_reason="max_tokens")
    with pytest.raises(TruncatedOutputError) as info:
        run(Chain([FunctionBackend(lambda r: cut)], reask=False))
    assert info.value.raw_text == '{"date":"2024-0'
    assert [a.step for a in info.value.attempts] == ["first"]
    # With a second backend, one error holds every attempt.
    with pytest.raises(FallbackExhaustedError) as both:
        run(Chain([FunctionBackend(lambda r: cut), FunctionBackend.returning(WORDY)], reask=False))
    assert len(both.value.attempts) == 2 and both.value.raw_text == WORDY


def test_errors_keep_their_place_and_input_errors_are_never_escalated() -> None:
    second = FunctionBackend.returning(GOOD, name="large")
    refuse = InputError("text is empty")

    def small(request: BackendRequest) -> str:
        if request.text == "too long":
            raise InputError("too many tokens")
        return GOOD

    chain = Chain([FunctionBackend(small, name="small"), second])
    items: list[BackendRequest | ExtractlyError] = [request("a"), refuse, request("too long"),
                                                    request("b")]
    outcomes = list(chain.run_many(items, VALIDATOR, batch_size=3))
    assert outcomes[1] is refuse
    assert isinstance(outcomes[2], InputError) and str(outcomes[2]) == "too many tokens"
    assert [type(o).__name__ for o in outcomes] == [
        "Extraction", "InputError", "InputError", "Extraction",
    ]  # fmt: skip
    assert second.calls == []


def test_close_closes_every_backend() -> None:
    backends = [FunctionBackend.returning(GOOD), FunctionBackend.returning(GOOD)]
    Chain(backends).close()
    assert all(b.closed for b in backends)


def test_chain_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Chain([])
    backend = FunctionBackend.returning(GOOD)
    with pytest.raises(ValueError, match="min_confidence"):
        Chain([backend], min_confidence=1.5)
    with pytest.raises(ValueError, match="deadline"):
        Chain([backend], deadline=0)
