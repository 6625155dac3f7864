"""The local backend: extractly's own constrained decoder over any GGUF, behind the contract.

``LlamaCppBackend(model="path/to.gguf")`` builds one ``Extractor`` per schema on first use (the
model itself is loaded once per process) and decodes with it; ``LlamaCppBackend.of(extractor)``
wraps an Extractor that already exists (the first step of every chain is the Extractor itself).
Answers always fit the schema's JSON grammar and carry per-field confidence when the decoder
provides it. This module does not validate or retry; the chain does.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ExtractlyError
from ..model_files import resolve_model_path
from .base import Backend, BackendAnswer, BackendRequest

if TYPE_CHECKING:
    from ..engine.decoder import DecodeResult
    from ..extractor import Extractor


MAX_EXTRACTORS = 4
"""Extractors (schema x prompt) kept per backend; the least recently used is closed."""


class LlamaCppBackend(Backend):
    """A local GGUF decoded in this process under the schema's token constraint.

    ``model`` is a GGUF path (``None``: the embedded model). ``examples`` / ``instructions``
    replace the prompt material of the chain's requests (e.g. a stronger prompt with more
    worked examples); ``name`` labels it in attempts and the distillation log. Other keyword
    options are those of ``Extractor`` (``n_threads``, ``max_tokens``, ``sampling``, ...).
    """

    reports_confidence = True
    remote = False

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        examples: Sequence[Any] | None = None,
        instructions: str | None = None,
        name: str | None = None,
        **options: Any,
    ) -> None:
        # Resolve now: a wrong path in a fallback list fails when the Extractor is built,
        # not on the first document that needs it.
        self.model = resolve_model_path(model)
        self.examples = examples
        self.instructions = instructions
        self.options = options
        self._extractors: dict[str, Extractor[Any]] = {}
        self._borrowed: str | None = None
        self._lock = threading.Lock()
        self.name = name or f"llama.cpp:{self.model.name}"

    @classmethod
    def of(cls, extractor: Extractor[Any]) -> LlamaCppBackend:
        """The backend view of an existing Extractor (its schema, prompt and context)."""
        backend = cls(extractor.model_path)
        key = _key(extractor.spec.fingerprint, extractor._shots, extractor._instructions)
        backend._extractors[key] = extractor
        backend._borrowed = key
        backend.name = extractor.backend_name
        return backend

    def generate(self, request: BackendRequest) -> BackendAnswer:
        extractor = self._extractor_for(request)
        result = extractor._decode_one(request.text, request.feedback)
        if isinstance(result, ExtractlyError):
            raise result
        return answer_of(extractor, result)

    def _extractor_for(self, request: BackendRequest) -> Extractor[Any]:
        from ..extractor import Extractor  # late: extractor.py imports this package

        examples = self.examples if self.examples is not None else request.examples
        instructions = self.instructions if self.instructions is not None else request.instructions
        # The prompt material is part of the key: requests may carry their own examples
        # (retrieved per document, say), and each prompt needs its own Extractor.
        key = _key(request.spec.fingerprint, examples, instructions)
        with self._lock:
            extractor = self._extractors.pop(key, None)
            if extractor is None:
                schema: Any = request.spec.pydantic_model or request.spec.user_schema
                extractor = Extractor(
                    schema,
                    model=self.model,
                    examples=examples,
                    instructions=instructions,
                    **self.options,
                )
            self._extractors[key] = extractor  # most recently used last
            for old in list(self._extractors)[: -MAX_EXTRACTORS or None]:
                if old != self._borrowed:  # never close the Extractor this backend wraps
                    self._extractors.pop(old).close()
            return extractor

    def close(self) -> None:
        with self._lock:
            for key, extractor in self._extractors.items():
                if key != self._borrowed:
                    extractor.close()
            self._extractors = {
                k: e for k, e in self._extractors.items() if k == self._borrowed
            }


def _key(fingerprint: str, examples: object, instructions: object) -> str:
    return f"{fingerprint}|{instructions!r}|{examples!r}"


def answer_of(extractor: Extractor[Any], result: DecodeResult) -> BackendAnswer:
    """A decoded document as a ``BackendAnswer`` (usage and field confidence included)."""
    from ..extractor import usage_of

    return BackendAnswer(
        raw_text=result.text,
        usage=usage_of(result),
        stop_reason=str(result.stop_reason),
        field_confidence=extractor._confidence_of(result),
    )
