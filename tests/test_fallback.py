"""The fallback chain against real servers: llama-cpp-python's OpenAI-compatible server with the
embedded model, and a misbehaving proxy in front of it (429/500, slow) or nothing (refused).

The schema is an invoice date that a Pydantic validator wants in ISO form. The first model is
prompted with examples that copy dates verbatim, so on documents that write the date out in
words its answer is rejected; the server is prompted with examples that convert. That makes the
documents that must escalate known in advance. Every case ends in a valid object or one
``FallbackExhaustedError`` holding every attempt, within a bounded time.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from extractly import Extractor, FallbackExhaustedError, RetryPolicy
from extractly.backends import Backend, BackendRequest, OpenAIBackend
from extractly.distill import read_distill_log
from tests.support.invoice import CONVERTING, COPYING, Invoice
from tests.support.servers import MODEL_ALIAS, FaultyProxy, LlamaServer, free_port

ISO_DOCS = ["The invoice is dated 2024-05-17.", "Paid in full on 2021-11-30."]
WORDY_DOCS = ["Invoice dated March 3, 2024.", "Delivered on 21 July 2023."]
FAST_RETRY = RetryPolicy(attempts=3, initial=0.05, max_wait=0.2, jitter=0.05)


@pytest.fixture
def proxy_factory(llama_server: LlamaServer) -> Iterator[type[FaultyProxy]]:
    started: list[FaultyProxy] = []

    class Tracked(FaultyProxy):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            started.append(self)

    yield Tracked
    for proxy in started:
        proxy.stop()


def server_backend(url: str, **options: Any) -> OpenAIBackend:
    return OpenAIBackend(url, MODEL_ALIAS, api="completions", examples=CONVERTING,
                         name="server-5shot", timeout=60, **options)


def invoices(fallback: Sequence[Backend | str], **options: Any) -> Extractor[Invoice]:
    return Extractor(Invoice, examples=COPYING, n_threads=1, fallback=fallback, **options)


def test_validator_rejections_escalate_exactly_those_documents(
    llama_server: LlamaServer, tmp_path: Path
) -> None:
    log = tmp_path / "distill.jsonl"
    docs = [ISO_DOCS[0], WORDY_DOCS[0], ISO_DOCS[1], WORDY_DOCS[1]]
    with invoices([server_backend(llama_server.url)], reask=False, distill_log=log) as ex:
        results = list(ex.run_many(docs, batch_size=2))
    escalated = {d for d, r in zip(docs, results, strict=True) if len(r.attempts) > 1}
    assert escalated == set(WORDY_DOCS)
    for doc, result in zip(docs, results, strict=True):
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", result.value.date)
        if doc in WORDY_DOCS:
            first, second = result.attempts
            assert first.step == "first" and "not an ISO date" in (first.error or "")
            assert second.step == "fallback" and second.error is None
            assert result.backend == "server-5shot"
            assert second.usage.sampled_tokens > 0 and second.seconds > 0
        else:
            assert result.backend == ex.backend_name
            assert result.attempts[0].error is None
    logged = list(read_distill_log(log))
    assert [text for text, _ in logged] == WORDY_DOCS
    by_text = dict(zip(docs, results, strict=True))
    assert [out for _, out in logged] == [by_text[d].value.model_dump() for d in WORDY_DOCS]
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert {r["backend"] for r in rows} == {"server-5shot"}
    assert {r["schema_fingerprint"] for r in rows} == {ex.spec.fingerprint}


def test_reask_feeds_the_error_back_before_escalating(llama_server: LlamaServer) -> None:
    with invoices([server_backend(llama_server.url)]) as ex:
        result = ex.run(WORDY_DOCS[1])
    steps = [a.step for a in result.attempts]
    assert steps[:2] == ["first", "reask"]
    assert result.attempts[0].error is not None
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", result.value.date)
    assert result.attempts[-1].error is None and result.backend == result.attempts[-1].backend


def test_chat_api_falls_back_to_the_schema_form_the_server_knows(
    llama_server: LlamaServer,
) -> None:
    """llama-cpp-python rejects ``json_schema`` response formats (HTTP 500 naming
    response_format); the backend moves to ``json_object`` with the schema and remembers it."""
    backend = OpenAIBackend(llama_server.url, MODEL_ALIAS, api="chat")
    assert backend.mode == "json_schema"
    with invoices([backend], reask=False) as ex:
        answer = backend.generate(
            BackendRequest(text=WORDY_DOCS[0], spec=ex.spec, examples=(), max_tokens=40)
        )
    assert backend.mode == "json_object"
    assert isinstance(json.loads(answer.raw_text), dict)  # grammar-constrained by the server
    assert answer.usage.prompt_tokens > 0


def test_server_down_ends_in_one_error_with_every_attempt() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    started = time.monotonic()
    with (
        invoices([f"openai:{url}#{MODEL_ALIAS}"], reask=False, retry=FAST_RETRY) as ex,
        pytest.raises(FallbackExhaustedError) as info,
    ):
        ex.run(WORDY_DOCS[0])
    assert time.monotonic() - started < 30
    attempts = info.value.attempts
    assert [a.step for a in attempts] == ["first", "fallback", "retry", "retry"]
    assert all("cannot reach" in (a.error or "") for a in attempts[1:])
    assert info.value.raw_text == attempts[0].raw_text != ""


def test_slow_server_is_cut_at_the_deadline(proxy_factory: type[FaultyProxy]) -> None:
    slow = proxy_factory(None, delay=30)
    # The first call of a fresh extractor: loading the model and evaluating the prompt prefix
    # (about 3 s on one core) count against the deadline, so the wait for the slow server is
    # what is left of it, and the whole call still ends at the deadline.
    deadline = 10.0
    with invoices([server_backend(slow.url)], reask=False, deadline=deadline) as ex:
        started = time.monotonic()
        with pytest.raises(FallbackExhaustedError) as info:
            ex.run(WORDY_DOCS[0])
        elapsed = time.monotonic() - started
    assert elapsed < deadline + 1.5
    errors = [a.error or "" for a in info.value.attempts]
    assert "no answer within" in errors[1]
    assert slow.requests >= 1


@pytest.mark.parametrize("statuses", [[429], [500, 429]])
def test_429_and_500_are_retried_then_answered(
    llama_server: LlamaServer, proxy_factory: type[FaultyProxy], statuses: list[int]
) -> None:
    flaky = proxy_factory(llama_server.url, fail=statuses)
    with invoices([server_backend(flaky.url)], reask=False, retry=FAST_RETRY) as ex:
        result = ex.run(WORDY_DOCS[0])
    later = result.attempts[1:]
    assert [a.step for a in later] == ["fallback"] + ["retry"] * len(statuses)
    for attempt, status in zip(later, statuses, strict=False):
        assert f"HTTP {status}" in (attempt.error or "")
    assert later[-1].error is None and result.backend == "server-5shot"
    assert flaky.requests == len(statuses) + 1


def test_persistent_500_exhausts_the_retries(proxy_factory: type[FaultyProxy]) -> None:
    broken = proxy_factory(None, fail=[500] * 10)
    with (
        invoices([server_backend(broken.url)], reask=False, retry=FAST_RETRY) as ex,
        pytest.raises(FallbackExhaustedError) as info,
    ):
        ex.run(WORDY_DOCS[0])
    assert broken.requests == FAST_RETRY.attempts
    assert len(info.value.attempts) == 1 + FAST_RETRY.attempts


def test_low_confidence_escalates_exactly_below_the_threshold(
    llama_server: LlamaServer, tmp_path: Path
) -> None:
    docs = [*ISO_DOCS, "Receipt 2020-02-29 for 12 USD."]
    with Extractor(Invoice, examples=COPYING, n_threads=1) as plain:
        confidences = [plain.run(d).confidence for d in docs]
    assert len(set(confidences)) > 1, confidences
    threshold = sorted(confidences)[1]  # the least confident document falls under it
    log = tmp_path / "distill.jsonl"
    backend = server_backend(llama_server.url)
    with invoices([backend], min_confidence=threshold, distill_log=log) as ex:
        results = [ex.run(d) for d in docs]
    for confidence, result in zip(confidences, results, strict=True):
        first = result.attempts[0]
        assert first.confidence == pytest.approx(confidence)
        if confidence < threshold:
            assert first.error is not None and first.error.startswith("low confidence")
            assert result.backend == "server-5shot"
            assert [a.step for a in result.attempts] == ["first", "fallback"]  # no re-ask
            assert result.field_confidence == {}  # the server reports none
        else:
            assert result.attempts == (first,) and first.error is None
            assert result.confidence == pytest.approx(confidence)
            assert result.field_confidence["/date"] == pytest.approx(confidence)
    escalated = [d for d, c in zip(docs, confidences, strict=True) if c < threshold]
    assert [text for text, _ in read_distill_log(log)] == escalated


def test_unsure_answer_is_kept_when_every_later_backend_fails() -> None:
    """Nobody reaches min_confidence and the server is down: the valid but unsure first answer
    comes back (not an error), and the trace says it was not accepted."""
    url = f"http://127.0.0.1:{free_port()}/v1"
    retry = RetryPolicy(attempts=1)
    with invoices([f"openai:{url}#{MODEL_ALIAS}"], min_confidence=1.0, retry=retry) as ex:
        result = ex.run(ISO_DOCS[0])
    assert result.value.date == "2024-05-17"
    assert result.backend == ex.backend_name and result.confidence < 1.0
    first, second = result.attempts
    assert (first.step, second.step) == ("first", "fallback")
    assert first.error is not None and first.error.startswith("low confidence")
    assert "cannot reach" in (second.error or "")
