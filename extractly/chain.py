"""The fallback chain: validate every answer, re-ask, retry, escalate, and keep the trace.

A ``Chain`` owns its backends and walks them in order for each document. Each answer is
validated with the user's schema (Pydantic validators included). An answer is accepted when it
validates and, if the backend reports confidence and ``min_confidence`` is set, its least
confident field reaches the threshold. Otherwise:

- a validation failure (not truncation) is fed back to the same backend once (``reask``);
- transient transport failures (refused connection, timeout, 429, 5xx) are retried with
  exponential backoff and jitter (``RetryPolicy``, run by tenacity);
- then the next backend is tried.

Every try becomes an ``Attempt``. No backend starts after the per-document ``deadline``, and
HTTP requests are cut at it; a local decode that has started runs to its end. A document's
clock starts when the first backend starts on the batch that holds it, so one-time work done on
its behalf (loading the model, evaluating the shared prompt prefix) counts against it.

When nobody is accepted, the most confident valid answer seen (if any) is returned rather than
thrown away (then the last attempt has an error: ``result.attempts[-1].error is None`` exactly
when an answer was accepted). With none, a document whose only attempt failed gets that
attempt's own error (a ``TruncatedOutputError``, say); after several attempts one
``FallbackExhaustedError`` holds them all. Errors about the input itself are never escalated.
Answers from a later backend are appended to the distillation log.

``run_many`` asks the first backend for a whole batch at once (``generate_many``), then walks
each document's escalation. When nothing can be asked after the first answer (one backend, no
re-ask) the results stream; otherwise each batch is answered to its end before any document of
it escalates, so the first backend is idle while a later one runs.

This module does not decode, talk HTTP, add source spans or clean the text.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Any

from .backends.base import Backend, BackendAnswer, BackendRequest, Feedback
from .confidence import overall_confidence
from .distill import DistillLog
from .errors import (
    ExtractionError,
    ExtractlyError,
    FallbackExhaustedError,
    InputError,
    TruncatedOutputError,
)
from .result import Attempt, Extraction, Usage
from .retry import RetryPolicy, is_transient
from .validate import OutputValidator, json_span

NO_USAGE = Usage(0, 0, 0, 0, 0.0)

Outcome = Extraction[Any] | ExtractlyError


@dataclass
class _Doc:
    """The state of one document while the chain works on it."""

    text: str
    deadline: float | None
    attempts: list[Attempt] = field(default_factory=list)
    errors: list[ExtractlyError | None] = field(default_factory=list)
    """Per attempt, the exception behind its error (``None`` when there was none to keep)."""
    candidates: list[tuple[float, Any, Attempt, BackendAnswer]] = field(default_factory=list)
    """Valid but under-confident answers: (confidence, value, attempt, answer)."""

    def record(
        self,
        backend: Backend,
        step: str,
        answer: BackendAnswer | None,
        error: str | ExtractlyError | None,
        seconds: float = 0.0,
    ) -> Attempt:
        usage = answer.usage if answer is not None else replace(NO_USAGE, seconds=seconds)
        attempt = Attempt(
            backend=backend.name,
            raw_text=answer.raw_text if answer is not None else "",
            error=_describe(error) if isinstance(error, ExtractlyError) else error,
            usage=usage,
            step=step,
            confidence=answer.confidence if answer is not None else None,
        )
        self.attempts.append(attempt)
        self.errors.append(error if isinstance(error, ExtractlyError) else None)
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

    def run(self, request: BackendRequest, validator: OutputValidator) -> Outcome:
        """Answer one request (its deadline and feedback are the chain's to set)."""
        with closing(self.run_many([request], validator)) as outcomes:
            return next(outcomes)

    def run_many(
        self,
        requests: Iterable[BackendRequest | ExtractlyError],
        validator: OutputValidator,
        batch_size: int = 1,
    ) -> Generator[Outcome, None, None]:
        """An ``Extraction`` or an error for each request, in input order (an error passed in
        keeps its place). The first backend answers up to ``batch_size`` requests at once."""
        first = self.backends[0]
        size = max(1, batch_size)
        if len(self.backends) == 1 and not self.reask:
            # Nothing is asked after the first answer: stream.
            pending: deque[BackendRequest | ExtractlyError] = deque()

            def fed() -> Iterator[BackendRequest | ExtractlyError]:
                for item in requests:
                    pending.append(item)
                    yield item

            answers = first.generate_many(fed(), size)
            try:
                for answer in answers:
                    yield self._settle(pending.popleft(), answer, validator)
            finally:  # also when raising: a suspended decode must not outlive this frame
                close = getattr(answers, "close", None)
                if close is not None:
                    close()
            return
        items = iter(requests)
        while batch := list(islice(items, size)):
            started = time.monotonic()
            batch_answers = list(first.generate_many(batch, size))
            for item, answer in zip(batch, batch_answers, strict=True):
                yield self._settle(item, answer, validator, started)

    def close(self) -> None:
        """Close every backend (contexts, connections)."""
        for backend in self.backends:
            backend.close()

    # -- one document -------------------------------------------------------------------------

    def _settle(
        self,
        item: BackendRequest | ExtractlyError,
        first: BackendAnswer | ExtractlyError,
        validator: OutputValidator,
        started: float | None = None,
    ) -> Outcome:
        """The outcome of one document, given the first backend's answer to it (begun at
        ``started``, ``time.monotonic()``; when not given, the answer's own seconds tell)."""
        if isinstance(item, ExtractlyError):
            return item
        if isinstance(first, InputError):  # about the text: no backend does better
            return first
        if started is None:
            spent = first.usage.seconds if isinstance(first, BackendAnswer) else 0.0
            started = time.monotonic() - spent
        deadline = None if self.deadline is None else started + self.deadline
        request = replace(item, deadline=deadline, feedback=None)
        doc = _Doc(request.text, deadline)
        for index, backend in enumerate(self.backends):
            if index > 0 and doc.expired():  # the first answer is in hand: judge it anyway
                reason = f"not tried: the {self.deadline} s deadline passed"
                doc.record(backend, "skipped", None, reason)
                continue
            step = "first" if index == 0 else "fallback"
            given = first if index == 0 else None
            found = self._try(backend, request, validator, doc, step, given)
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
        return _failure(doc, len(self.backends))

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
        if isinstance(given, ExtractlyError):  # the batched first call failed outright
            doc.record(backend, step, None, given)
            if not is_transient(given) or self.retry.attempts <= 1 or doc.expired():
                return None
            called = self._call(backend, request, doc, "retry", failed=1)
        elif given is not None:
            called = given, step
        else:
            called = self._call(backend, request, doc, step)
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
        self, backend: Backend, request: BackendRequest, doc: _Doc, step: str, failed: int = 0
    ) -> tuple[BackendAnswer, str] | None:
        """``backend.generate`` under the retry policy: the answer and the step label of the
        try that produced it, or None after recording every failed try. ``failed``: tries
        already made (see ``RetryPolicy.call``)."""
        tries = 0

        def attempt() -> BackendAnswer:
            nonlocal tries
            label = step if tries == 0 else "retry"
            tries += 1
            started = time.perf_counter()
            try:
                return backend.generate(request)
            except ExtractlyError as exc:
                doc.record(backend, label, None, exc, time.perf_counter() - started)
                raise

        try:
            answer = self.retry.call(attempt, doc.deadline, failed=failed)
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
            doc.record(backend, step, answer, exc)
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


def _failure(doc: _Doc, backends: int) -> ExtractlyError:
    """The error for a document nobody answered (see the module docstring)."""
    if len(doc.attempts) == 1 and doc.errors[0] is not None:
        own = doc.errors[0]
        if isinstance(own, ExtractionError):
            own.attempts = list(doc.attempts)
        return own
    last_raw = next((a.raw_text for a in reversed(doc.attempts) if a.raw_text), "")
    reasons = "; ".join(f"{a.backend} ({a.step}): {a.error}" for a in doc.attempts)
    return FallbackExhaustedError(
        f"all {backends} backend(s) failed after {len(doc.attempts)} attempt(s): "
        f"{reasons[:2000]}",
        raw_text=last_raw,
        attempts=doc.attempts,
    )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
