"""Shadow traffic: a sampled share of the documents the small model answered goes to a teacher
as well, even when the small model was confident, and the two answers are compared per field.

``Extractor(schema, shadow=Shadow("openai:http://host/v1#big", share=0.1, log="shadow.jsonl"),
distill_log="pairs.jsonl")``. The caller's result is never delayed or changed: the teacher is
asked on background threads (``concurrency``) after the result has been handed out, and
``Extractor.close()`` waits for the answers in flight. What it gives:

- **a live accuracy figure**: ``extractor.shadow_stats()``, per top-level field, how often the
  small model's value equals the teacher's (values compared as ``extractly eval`` compares
  them: ``scoring.normalize``, null as absent), over the documents the teacher answered;
- **an unbiased sample for the next tune**: each teacher answer is appended to the Extractor's
  ``distill_log`` as a pair (``source: "shadow"``), beside the escalations, which are only the
  documents the small model failed on;
- ``log``: one JSON line per compared document (``text``, ``student``, ``teacher``, ``agree``
  per field, ``teacher_backend``), for auditing.

Which documents: stratified sampling in input order, one document drawn at random from each
consecutive block of ``1 / share`` documents (seeded), so every document has the same chance
and the share sent is exact to within one document over any run, whatever the order of the
input. Only documents answered by the Extractor's own model are shadowed (an escalated one was
already answered by a fallback). A teacher answer that fails validation, or a teacher that
cannot be reached, is counted (``failed``) and logged, never raised to the caller.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .backends import backend_from_spec
from .backends.base import Backend, BackendRequest
from .budget import max_output_tokens
from .chain import Chain
from .distill import DistillLog
from .errors import ExtractlyError
from .result import Extraction
from .retry import RetryPolicy
from .schema import SchemaSpec
from .scoring import normalize, score_fields
from .validate import OutputValidator


@dataclass(frozen=True)
class Shadow:
    """Where and how much shadow traffic to send (see the module docstring)."""

    teacher: Backend | str
    share: float = 0.1
    log: str | os.PathLike[str] | None = None
    seed: int = 0
    concurrency: int = 2
    retry: RetryPolicy | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.share <= 1.0:
            raise ValueError(f"shadow share must be in (0, 1], not {self.share}")
        if self.concurrency < 1:
            raise ValueError(f"shadow concurrency must be at least 1, not {self.concurrency}")


@dataclass
class FieldAgreement:
    agree: int = 0
    compared: int = 0

    @property
    def rate(self) -> float | None:
        return self.agree / self.compared if self.compared else None


@dataclass
class ShadowStats:
    seen: int = 0
    """Documents the Extractor's own model answered (the population sampled)."""
    sent: int = 0
    answered: int = 0
    failed: int = 0
    fields: dict[str, FieldAgreement] = field(default_factory=dict)

    @property
    def share(self) -> float | None:
        return self.sent / self.seen if self.seen else None

    all_agreed: int = 0
    """Answered documents where every field agreed."""

    @property
    def exact(self) -> float | None:
        return self.all_agreed / self.answered if self.answered else None

    def to_json(self) -> dict[str, Any]:
        return {
            "seen": self.seen, "sent": self.sent, "share": self.share,
            "answered": self.answered, "failed": self.failed, "exact": self.exact,
            "fields": {name: {"agree": f.agree, "compared": f.compared, "rate": f.rate}
                       for name, f in self.fields.items()},
        }  # fmt: skip


class StratifiedSampler:
    """Takes one position at random from each consecutive block of ``1 / share`` positions."""

    def __init__(self, share: float, seed: int = 0) -> None:
        self.period = 1.0 / share
        self._rng = random.Random(seed)
        self._index = -1
        self._block_start = 0.0
        self._last_taken = -1
        self._next = self._draw()

    def _draw(self) -> int:
        pick = int(self._block_start + self._rng.random() * self.period)
        return max(pick, self._last_taken + 1)

    def take(self) -> bool:
        """Whether the next position is sampled."""
        self._index += 1
        if self._index < self._next:
            return False
        self._last_taken = self._index
        self._block_start += self.period
        self._next = self._draw()
        return True


class ShadowRunner:
    """The Extractor's side of shadow traffic: ``observe`` each result in input order."""

    def __init__(
        self, config: Shadow, spec: SchemaSpec, own_backend: str, pairs: DistillLog | None
    ) -> None:
        self.config = config
        self.spec = spec
        self.own_backend = own_backend
        self.teacher = backend_from_spec(config.teacher)
        self._chain = Chain([self.teacher], reask=True, retry=config.retry or RetryPolicy())
        self._validator = OutputValidator(spec)
        self._sampler = StratifiedSampler(config.share, config.seed)
        self._log = None if config.log is None else DistillLog(config.log)
        self._pairs = pairs
        self._pool = ThreadPoolExecutor(config.concurrency, thread_name_prefix="shadow")
        self._pending: set[Future[None]] = set()
        self._lock = threading.Lock()
        self.stats = ShadowStats()
        self._names = list((spec.decode_schema.get("properties") or {}).keys())
        # a server without structured output may indent its JSON: twice the compact need
        self._max_tokens = 2 * max_output_tokens(spec.decode_schema)

    def observe(self, text: str, outcome: Extraction[Any] | ExtractlyError) -> None:
        """Count ``outcome`` and, if sampled, send ``text`` to the teacher in the background."""
        if not isinstance(outcome, Extraction) or outcome.backend != self.own_backend:
            return
        with self._lock:
            self.stats.seen += 1
            if not self._sampler.take():
                return
            self.stats.sent += 1
        future = self._pool.submit(self._compare, text, outcome.data)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def _compare(self, text: str, student: Any) -> None:
        request = BackendRequest(text=text, spec=self.spec, max_tokens=self._max_tokens)
        outcome = self._chain.run(request, self._validator)
        if isinstance(outcome, ExtractlyError):
            with self._lock:
                self.stats.failed += 1
            if self._log is not None:
                self._log.append_record({"text": text, "student": student, "teacher": None,
                                         "error": f"{type(outcome).__name__}: {outcome}"})
            return
        teacher = outcome.data
        agree = agreement(student, teacher, self._names)
        with self._lock:
            self.stats.answered += 1
            self.stats.all_agreed += all(agree.values())
            for name, same in agree.items():
                counts = self.stats.fields.setdefault(name, FieldAgreement())
                counts.compared += 1
                counts.agree += same
        if self._log is not None:
            self._log.append_record({"text": text, "student": student, "teacher": teacher,
                                     "agree": agree, "teacher_backend": outcome.backend})
        if self._pairs is not None:
            self._pairs.append(text, teacher, backend=outcome.backend,
                               schema_fingerprint=self.spec.fingerprint, source="shadow")

    def wait(self) -> None:
        """Block until every teacher request sent so far is answered (or failed)."""
        while True:
            with self._lock:
                pending = list(self._pending)
            if not pending:
                return
            for future in pending:
                future.result()

    def close(self) -> None:
        self.wait()
        self._pool.shutdown(wait=True)
        self.teacher.close()


def agreement(student: Any, teacher: Any, names: list[str]) -> dict[str, bool]:
    """Per top-level field: do the two objects hold the same value, as ``extractly eval``
    counts it (a true positive or a true negative of ``scoring.compare``)? A non-object answer
    (a root list) is compared as one field ``""``."""
    if not isinstance(student, Mapping) or not isinstance(teacher, Mapping):
        return {"": normalize(student) == normalize(teacher)}
    fields = names or sorted(set(student) | set(teacher))
    return {name: c.tp + c.tn > 0 for name, c in score_fields(student, teacher, fields).items()}
