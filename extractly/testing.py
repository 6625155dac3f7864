"""Fakes for testing code that uses extractly, without a model: ``FunctionBackend``.

Like httpx's ``MockTransport`` or pydantic-ai's ``FunctionModel``: a backend whose answers come
from a Python function, so the fallback chain's policy (re-ask, retry, escalate, keep the unsure
answer, distil) can be exercised in milliseconds::

    from extractly import Chain
    from extractly.testing import FunctionBackend

    flaky = FunctionBackend.returning('{"date": "March 3"}', '{"date": "2024-03-03"}')
    chain = Chain([flaky], reask=True)

The function receives the ``BackendRequest`` (text, schema, feedback of a re-ask, deadline) and
returns the raw text, a full ``BackendAnswer``, or raises (``BackendRequestError`` for a
transport failure). Every request is kept in ``calls``. Not here: decoding (the local and HTTP
backends are tested against the real model and real servers).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import ClassVar

from .backends.base import Backend, BackendAnswer, BackendRequest
from .result import Usage

Handler = Callable[[BackendRequest], "str | BackendAnswer"]


class FunctionBackend(Backend):
    """A backend that answers with ``handler(request)``.

    ``field_confidence`` is attached to string answers (a ``BackendAnswer`` carries its own);
    ``reports_confidence`` follows whether it is given.
    """

    remote: ClassVar[bool] = False

    def __init__(
        self,
        handler: Handler,
        *,
        name: str = "function",
        field_confidence: Mapping[str, float] | None = None,
    ) -> None:
        self.handler = handler
        self.name = name
        self.field_confidence = field_confidence
        self.reports_confidence = field_confidence is not None  # type: ignore[misc]
        self.calls: list[BackendRequest] = []
        self.closed = False
        self._lock = threading.Lock()

    @classmethod
    def returning(
        cls,
        *answers: str | BaseException,
        name: str = "function",
        field_confidence: Mapping[str, float] | None = None,
    ) -> FunctionBackend:
        """A backend that gives ``answers`` in turn (an exception is raised), then repeats the
        last one."""
        if not answers:
            raise ValueError("FunctionBackend.returning needs at least one answer")
        queue = list(answers)

        def handler(request: BackendRequest) -> str:
            answer = queue.pop(0) if len(queue) > 1 else queue[0]
            if isinstance(answer, BaseException):
                raise answer
            return answer

        return cls(handler, name=name, field_confidence=field_confidence)

    def generate(self, request: BackendRequest) -> BackendAnswer:
        with self._lock:
            self.calls.append(request)
        started = time.perf_counter()
        answer = self.handler(request)
        if isinstance(answer, BackendAnswer):
            return answer
        return BackendAnswer(
            raw_text=answer,
            usage=Usage(prompt_tokens=0, cached_prompt_tokens=0, sampled_tokens=0,
                        forced_tokens=0, seconds=time.perf_counter() - started),
            field_confidence=self.field_confidence,
        )  # fmt: skip

    def close(self) -> None:
        self.closed = True
