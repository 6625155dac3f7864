"""The fallback chain: validate every answer, re-ask, retry, escalate, and keep the trace.

For one document the chain walks its backends in order (the first is the Extractor's own
model). Each answer is validated with the user's schema (Pydantic validators included). An
answer is accepted when it validates and, if the backend reports confidence and
``min_confidence`` is set, its least confident field reaches the threshold. Otherwise:

- a validation failure (not truncation) is fed back to the same backend once (``reask``);
- transient transport failures (refused connection, timeout, 429, 5xx) are retried with
  exponential backoff and jitter (``RetryPolicy``, run by tenacity);
- then the next backend is tried.

Every try becomes an ``Attempt``. No backend starts after the per-document ``deadline``, and
HTTP requests are cut at it; a local decode that has started runs to its end. When nobody is
accepted, the most confident valid answer seen (if any) is returned rather than thrown away
(then the last attempt has an error: ``result.attempts[-1].error is None`` exactly when an
answer was accepted); with none, one ``FallbackExhaustedError`` holds every attempt. Answers
from a later backend are appended to the distillation log. This module does not decode or talk
HTTP itself.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base
from tenacity.wait import wait_exponential, wait_random

from .backends.base import Backend, BackendAnswer, BackendRequest, Feedback
from .confidence import overall_confidence
from .distill import DistillLog
from .errors import (
    BackendRequestError,
    ExtractionError,
    ExtractlyError,
    FallbackExhaustedError,
    InputError,
    TruncatedOutputError,
)
from .result import Attempt, Extraction, Usage
from .validate import OutputValidator

NO_USAGE = Usage(0, 0, 0, 0, 0.0)


@dataclass(frozen=True)
class RetryPolicy:
    """How transient transport failures of one backend are retried (never validation errors).

    ``attempts`` counts tries per backend and request (1 = no retry). Waits grow as
    ``initial * 2**n`` up to ``max_wait``, plus up to ``jitter`` seconds at random, and never
    run past the document's deadline.
    """

    attempts: int = 3
    initial: float = 0.5
    max_wait: float = 8.0
    jitter: float = 0.5


@dataclass
class _Doc:
    """The state of one document while the chain works on it."""

    text: str
    deadline: float | None
    attempts: list[Attempt] = field(default_factory=list)
    candidates: list[tuple[float, Any, Attempt, BackendAnswer]] = field(default_factory=list)
    """Valid but under-confident answers: (confidence, value, attempt, answer)."""

    def record(
        self,
        backend: Backend,
        step: str,
        answer: BackendAnswer | None,
        error: str | None,
        seconds: float = 0.0,
    ) -> Attempt:
        usage = answer.usage if answer is not None else replace(NO_USAGE, seconds=seconds)
        attempt = Attempt(
            backend=backend.name,
            raw_text=answer.raw_text if answer is not None else "",
            error=error,
            usage=usage,
            step=step,
            confidence=answer.confidence if answer is not None else None,
        )
        self.attempts.append(attempt)
        return attempt

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline


class Chain:
    """Backends tried in order for each document, with the rules in the module docstring."""

    def __init__(
        self,
        backends: Sequence[Backend],
        *,
        min_confidence: float | None = None,
        reask: bool = True,
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
        distill_log: str | os.PathLike[str] | DistillLog | None = None,
    ) -> None:
        if not backends:
            raise ValueError("a chain needs at least one backend")
        if min_confidence is not None and not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in [0, 1], not {min_confidence}")
        if deadline is not None and deadline <= 0:
            raise ValueError(f"deadline must be a positive number of seconds, not {deadline}")
        self.backends = list(backends)
        self.min_confidence = min_confidence
        self.reask = reask
        self.retry = retry or RetryPolicy()
        self.deadline = deadline
        self.distill_log = (
            distill_log
            if distill_log is None or isinstance(distill_log, DistillLog)
            else DistillLog(distill_log)
        )

    def run(
        self,
        request: BackendRequest,
        validator: OutputValidator,
        first: BackendAnswer | ExtractlyError | None = None,
    ) -> Extraction[Any] | ExtractlyError:
        """Answer ``request`` (without its deadline; the chain sets it).

        ``first`` is the first backend's answer when it was already computed (the Extractor
        decodes documents in batches before escalating the ones that need it).
        """
        spent = first.usage.seconds if isinstance(first, BackendAnswer) else 0.0
        deadline = None if self.deadline is None else time.monotonic() - spent + self.deadline
        request = replace(request, deadline=deadline, feedback=None)
        doc = _Doc(request.text, deadline)
        for index, backend in enumerate(self.backends):
            if doc.expired():
                reason = f"not tried: the {self.deadline} s deadline passed"
                doc.record(backend, "skipped", None, reason)
                continue
            step = "first" if index == 0 else "fallback"
            found = self._try(backend, request, validator, doc, step, first if index == 0 else None)
            if found is not None:
                value, answer = found
                if index > 0 and self.distill_log is not None:
                    self.distill_log.append(
                        request.text,
                        value,
                        backend=backend.name,
                        schema_fingerprint=request.spec.fingerprint,
                    )
                return _extraction(value, backend.name, doc, answer)
        if doc.candidates:
            _, value, attempt, answer = max(doc.candidates, key=lambda c: c[0])
            return _extraction(value, attempt.backend, doc, answer)
        last_raw = next((a.raw_text for a in reversed(doc.attempts) if a.raw_text), "")
        reasons = "; ".join(f"{a.backend} ({a.step}): {a.error}" for a in doc.attempts)
        return FallbackExhaustedError(
            f"all {len(self.backends)} backend(s) failed after {len(doc.attempts)} attempt(s): "
            f"{reasons[:2000]}",
            raw_text=last_raw,
            attempts=doc.attempts,
        )

    def close(self) -> None:
        for backend in self.backends[1:]:
            backend.close()

    # -- one backend ------------------------------------------------------------------------

    def _try(
        self,
        backend: Backend,
        request: BackendRequest,
        validator: OutputValidator,
        doc: _Doc,
        step: str,
        given: BackendAnswer | ExtractlyError | None,
    ) -> tuple[Any, BackendAnswer] | None:
        """The backend's accepted (value, answer), after at most one re-ask; else None."""
        if isinstance(given, ExtractlyError):  # the Extractor's own decode failed outright
            doc.record(backend, step, None, _describe(given))
            return None
        called = (given, step) if given is not None else self._call(backend, request, doc, step)
        if called is None:
            return None
        answer, label = called
        value, error = self._judge(answer, label, validator, doc, backend)
        if error is None:
            return value, answer
        if (
            not self.reask
            or value is not None  # valid but unsure: asking again would not add evidence
            or isinstance(error, TruncatedOutputError)
            or doc.expired()
        ):
            return None
        again = replace(request, feedback=Feedback(answer.raw_text, str(error)))
        called = self._call(backend, again, doc, "reask")
        if called is None:
            return None
        value, error = self._judge(called[0], called[1], validator, doc, backend)
        return (value, called[0]) if error is None else None

    def _call(
        self, backend: Backend, request: BackendRequest, doc: _Doc, step: str
    ) -> tuple[BackendAnswer, str] | None:
        """``backend.generate`` under the retry policy: the answer and the step label of the
        try that produced it, or None after recording every failed try."""
        tries = 0

        def attempt() -> BackendAnswer:
            nonlocal tries
            label = step if tries == 0 else "retry"
            tries += 1
            started = time.perf_counter()
            try:
                return backend.generate(request)
            except ExtractlyError as exc:
                doc.record(backend, label, None, _describe(exc), time.perf_counter() - started)
                raise

        retrying = Retrying(
            stop=stop_after_attempt(max(1, self.retry.attempts)) | _stop_at(doc.deadline),
            wait=_capped_wait(self.retry, doc.deadline),
            retry=retry_if_exception(_transient),
            reraise=True,
        )
        try:
            answer: BackendAnswer = retrying(attempt)
        except ExtractlyError:
            return None
        return answer, step if tries == 1 else "retry"

    def _judge(
        self,
        answer: BackendAnswer,
        step: str,
        validator: OutputValidator,
        doc: _Doc,
        backend: Backend,
    ) -> tuple[Any, ExtractionError | None]:
        """Validate ``answer`` and record its attempt. Returns (value or None, why not accepted).
        A valid but under-confident answer returns its value and an error, and is kept as a
        candidate."""
        try:
            complete = answer.stop_reason == "complete"
            text = json_span(answer.raw_text) if complete else answer.raw_text
            value = validator.parse(text, answer.stop_reason, source=doc.text)
        except ExtractionError as exc:
            doc.record(backend, step, answer, _describe(exc))
            return None, exc
        weakest = _weakest_field(answer)
        if self.min_confidence is not None and weakest is not None:
            pointer, confidence = weakest
            if confidence < self.min_confidence:
                reason = (
                    f"low confidence: {confidence:.3f} at {pointer or '<root>'} "
                    f"< min_confidence {self.min_confidence}"
                )
                attempt = doc.record(backend, step, answer, reason)
                doc.candidates.append((confidence, value, attempt, answer))
                return value, ExtractionError(reason, raw_text=answer.raw_text)
        doc.record(backend, step, answer, None)
        return value, None


def _weakest_field(answer: BackendAnswer) -> tuple[str, float] | None:
    if not answer.field_confidence:
        return None
    return min(answer.field_confidence.items(), key=lambda item: item[1])


def _extraction(value: Any, backend: str, doc: _Doc, answer: BackendAnswer) -> Extraction[Any]:
    # A backend that reports no confidence (HTTP) leaves field_confidence empty; its
    # Attempt.confidence is None.
    fields = dict(answer.field_confidence or {})
    return Extraction(
        value=value,
        backend=backend,
        attempts=tuple(doc.attempts),
        usage=answer.usage,
        raw_text=answer.raw_text,
        confidence=overall_confidence(fields),
        field_confidence=fields,
    )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, BackendRequestError) and exc.retryable


class _stop_at(stop_base):
    """Stop retrying once the document's deadline has passed."""

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline


def _capped_wait(policy: RetryPolicy, deadline: float | None) -> Callable[[RetryCallState], float]:
    base = wait_exponential(multiplier=policy.initial, max=policy.max_wait) + wait_random(
        0, policy.jitter
    )

    def wait(state: RetryCallState) -> float:
        seconds = float(base(state))
        if deadline is not None:
            seconds = min(seconds, max(0.0, deadline - time.monotonic()))
        return seconds

    return wait


def json_span(text: str) -> str:
    """The first JSON object in ``text`` (a chat model may wrap it in prose or a code fence);
    ``text`` itself when there is none, so the validator reports what was wrong."""
    start = text.find("{")
    if start < 0:
        return text
    try:
        _, end = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError:
        return text
    return text[start:end]


def is_input_error(item: object) -> bool:
    """Errors about the text itself: no backend can do better, so they are not escalated."""
    return isinstance(item, InputError)
