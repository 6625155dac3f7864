"""The backend contract: one method, ``generate(request) -> BackendAnswer``.

A backend turns one document (plus the schema and prompt material) into raw text. It does not
validate, retry or escalate: the chain (``extractly.chain``) does that the same way for every
backend, so a local GGUF and a hosted API are judged by the same rules. Capabilities are class
attributes the chain reads (does the backend report confidence, is it remote).

A backend raises ``BackendRequestError`` (with ``retryable``) for transport failures and
returns an answer for anything the model wrote, however wrong. ``generate_many`` answers a
stream of requests in order; its default calls ``generate`` for each, and a backend that can
batch (the local one) overrides it.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from ..confidence import overall_confidence
from ..errors import ExtractlyError
from ..result import Usage
from ..schema import Example, SchemaSpec


@dataclass(frozen=True)
class Feedback:
    """A previous answer and why it was rejected (for a re-ask)."""

    raw_text: str
    error: str


@dataclass(frozen=True)
class BackendRequest:
    """One document for one backend."""

    text: str
    spec: SchemaSpec
    instructions: str | None = None
    """``None`` renders the default instructions from the schema."""
    examples: Sequence[Example] | None = None
    """``None`` uses the schema's own examples."""
    max_tokens: int = 256
    deadline: float | None = None
    """``time.monotonic()`` value after which the answer is no longer wanted."""
    feedback: Feedback | None = None

    def remaining(self) -> float | None:
        """Seconds left before the deadline (never negative), or ``None`` without one."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.monotonic())


@dataclass(frozen=True)
class BackendAnswer:
    """What a backend wrote for one request, and what it cost."""

    raw_text: str
    usage: Usage
    stop_reason: str = "complete"
    """``complete``, ``max_tokens`` (truncated) or another reason decoding stopped."""
    field_confidence: Mapping[str, float] | None = field(default=None)
    """JSON Pointer -> confidence in [0, 1] of each field's value, if the backend knows."""

    @property
    def confidence(self) -> float | None:
        """The least confident field, or ``None`` when the backend reported no confidence."""
        return overall_confidence(self.field_confidence) if self.field_confidence else None


class Backend(ABC):
    """Something that writes JSON for a document: a local GGUF, an HTTP server."""

    reports_confidence: ClassVar[bool] = False
    """Answers carry ``field_confidence`` (so ``min_confidence`` can judge them)."""
    remote: ClassVar[bool] = False
    """Requests go over the network (retries with backoff make sense)."""

    name: str
    """Shown in ``Attempt.backend`` and ``Extraction.backend``."""

    @abstractmethod
    def generate(self, request: BackendRequest) -> BackendAnswer:
        """Write an answer for ``request``; raise ``BackendRequestError`` on transport failure."""

    def generate_many(
        self, requests: Iterable[BackendRequest | ExtractlyError], batch_size: int = 1
    ) -> Iterator[BackendAnswer | ExtractlyError]:
        """An answer for each request, in input order. An error passed in, or raised for a
        request, takes that request's place in the output: the stream never stops early.
        ``batch_size`` is how many requests a batching backend may work on at once."""
        for request in requests:
            if isinstance(request, ExtractlyError):
                yield request
                continue
            try:
                yield self.generate(request)
            except ExtractlyError as exc:
                yield exc

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release what the backend holds (contexts, connections)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"
