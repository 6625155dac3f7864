"""The local backend: extractly's own constrained decoder over any GGUF, behind the contract.

``LlamaCppBackend(model="path/to.gguf")`` decodes every request under its schema's token
constraint, so answers always fit the schema's JSON grammar, and reports per-field confidence.
For each (schema, prompt material) it opens one ``DecodeSession`` (constraint, prompt, adapter,
contexts), keeps the most recently used few and closes the rest; the model itself is loaded
once per process. ``prepare`` opens a session ahead of time, so that a schema the decoder cannot
enforce fails when an ``Extractor`` is built, not on its first document. ``generate_many``
decodes a stream of requests in batches.

Which adapter: ``adapter="auto"`` (the default, unless the backend or the request brings its own
examples or instructions) uses the adapter registered for the schema and model, if any, else the
general adapter shipped in the package when the model is the one it was trained on; a path uses
that adapter; ``None`` none (the base model, prompted with the schema's examples). With a
schema's adapter the prompt is only the text; with a general one, the schema's instructions and
field list.

This module does not validate or retry; the chain does.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import threading
from collections import OrderedDict
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from ..adapter_registry import (
    GENERAL_PROMPT,
    adapter_prompt,
    lookup,
    resolve_adapter,
    shipped_general,
    tuned_fields,
)
from ..budget import max_output_tokens
from ..confidence import field_confidence
from ..constraint import compile_constraint
from ..engine.decoder import DecodeRequest, DecodeResult
from ..engine.llama import LlamaModel, load_model
from ..engine.probe import ensure_llama_runs
from ..engine.session import DecodeSession, SessionConfig
from ..engine.tokenizer import tokenizer_for
from ..errors import BackendError, ExtractlyError
from ..model_files import resolve_model_path
from ..prompt import build_prompt
from ..result import Usage
from ..schema import Example, SchemaSpec, load_schema
from ..settings import Safeguards, Sampling
from ..verbatim import verbatim_fields
from .base import Backend, BackendAnswer, BackendRequest

MAX_SESSIONS = 4
"""Sessions (schema x prompt material) kept per backend; the least recently used is closed."""

SESSION_OPTIONS = frozenset(
    {
        "adapter",
        "verbatim",
        "allow_post_checks",
        "max_tokens",
        "max_input_tokens",
        "batch_size",
        "n_ctx",
        "n_threads",
        "sparse_head",
        "copy_drafts",
        "sampling",
        "safeguards",
    }
)
"""Keyword options of ``LlamaCppBackend`` (the local-model options of ``Extractor``)."""


class LlamaCppBackend(Backend):
    """A local GGUF decoded in this process under the schema's token constraint.

    ``model`` is a GGUF path (``None``: the embedded model). ``examples`` / ``instructions``
    replace the prompt material of the requests (e.g. a stronger prompt with more worked
    examples); ``name`` labels it in attempts and the distillation log. The other keyword
    options are ``Extractor``'s local-model options (``SESSION_OPTIONS``: ``n_threads``,
    ``max_tokens``, ``sampling``, ``adapter``, ...).
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
        unknown = sorted(set(options) - SESSION_OPTIONS)
        if unknown:
            raise TypeError(
                f"unknown LlamaCppBackend option(s) {unknown}; known: {sorted(SESSION_OPTIONS)}"
            )
        # Resolve now: a wrong path in a fallback list fails when the Extractor is built,
        # not on the first document that needs it.
        self.model_path = resolve_model_path(model)
        self.examples = None if examples is None else tuple(Example.coerce(e) for e in examples)
        self.instructions = instructions
        self.options = options
        self.name = name or f"llama.cpp:{self.model_path.name}"
        self._sessions: OrderedDict[str, DecodeSession] = OrderedDict()
        self._lock = threading.Lock()
        self._closed = False

    def prepare(
        self,
        spec: SchemaSpec,
        examples: Sequence[Example] | None = None,
        instructions: str | None = None,
    ) -> DecodeSession:
        """The session for ``spec`` with this prompt material, opened now if need be."""
        examples = self.examples if self.examples is not None else examples
        instructions = self.instructions if self.instructions is not None else instructions
        # The prompt material is part of the key: requests may carry their own examples
        # (retrieved per document, say), and each prompt needs its own session.
        key = f"{spec.fingerprint}|{instructions!r}|{examples!r}"
        with self._lock:
            if self._closed:
                raise BackendError(f"{self.name} is closed; build a new backend")
            session = self._sessions.pop(key, None)
            if session is None or session.closed:
                session = self._open(spec, examples, instructions)
            self._sessions[key] = session  # most recently used last
            idle = [k for k, s in self._sessions.items() if not s.busy and k != key]
            for old in idle[: max(0, len(self._sessions) - MAX_SESSIONS)]:
                self._sessions.pop(old).close()  # never one whose decode is under way
            return session

    def generate(self, request: BackendRequest) -> BackendAnswer:
        with closing(self.generate_many([request])) as answers:
            answer = next(answers)
        if isinstance(answer, ExtractlyError):
            raise answer
        return answer

    def generate_many(
        self, requests: Iterable[BackendRequest | ExtractlyError], batch_size: int = 1
    ) -> Generator[BackendAnswer | ExtractlyError, None, None]:
        """Decode up to ``batch_size`` requests at once; answers in input order. Requests for
        another session than the first one's are decoded one by one."""
        items = iter(requests)
        first: BackendRequest | ExtractlyError | None = next(items, None)
        while isinstance(first, ExtractlyError):
            yield first
            first = next(items, None)
        if first is None:
            return
        session = self.prepare(first.spec, first.examples, first.instructions)

        def decode_requests() -> Iterator[DecodeRequest | ExtractlyError]:
            for item in itertools.chain((first,), items):
                if isinstance(item, ExtractlyError):
                    yield item
                elif self.prepare(item.spec, item.examples, item.instructions) is not session:
                    yield _Elsewhere(item)
                else:
                    yield _decode_request(session, item)

        with closing(session.decode(decode_requests(), batch_size)) as results:
            for result in results:
                if isinstance(result, _Elsewhere):
                    yield from self.generate_many([result.request])
                elif isinstance(result, ExtractlyError):
                    yield result
                else:
                    yield answer_from(session, result)

    def close(self) -> None:
        with self._lock:
            for session in self._sessions.values():
                session.close()
            self._sessions.clear()
            self._closed = True

    def _open(
        self, spec: SchemaSpec, examples: Sequence[Example] | None, instructions: str | None
    ) -> DecodeSession:
        options = self.options
        safeguards = options.get("safeguards") or Safeguards()
        if options.get("safeguards") is not None:  # this backend decodes its own schema form
            own = load_schema(spec.pydantic_model or spec.user_schema, safeguards)
            if own.fingerprint != spec.fingerprint:
                spec = dataclasses.replace(own, examples=spec.examples)
        ensure_llama_runs(self.model_path)
        model = load_model(self.model_path)
        prompted = examples is not None or instructions is not None
        adapter = _adapter_path(options.get("adapter", None if prompted else "auto"), spec, model)
        if adapter is not None and prompted:
            raise ValueError(
                "an adapter replaces the prompt: pass either adapter= or examples= / "
                "instructions=, not both"
            )
        copied = verbatim_fields(spec, options.get("verbatim"), tuned_fields(adapter))
        constraint = compile_constraint(
            spec.decode_schema,
            tokenizer_for(model),
            allow_post_checks=options.get("allow_post_checks", False),
            verbatim_fields=copied,
        )
        general = adapter_prompt(adapter) == GENERAL_PROMPT
        prompt = build_prompt(
            spec, instructions=instructions, examples=examples,
            instruction_free=adapter is not None and not general, zero_shot=general,
        )
        config = SessionConfig(
            max_tokens=options.get("max_tokens") or max_output_tokens(spec.decode_schema),
            max_input_tokens=options.get("max_input_tokens", SessionConfig.max_input_tokens),
            batch_size=max(1, options.get("batch_size", SessionConfig.batch_size)),
            n_ctx=options.get("n_ctx"),
            n_threads=options.get("n_threads") or 0,
            sparse_head=options.get("sparse_head", True),
            copy_drafts=options.get("copy_drafts", False),
            sampling=options.get("sampling") or Sampling(),
            safeguards=safeguards,
        )
        return DecodeSession(
            model, constraint, prompt, config, adapter_path=adapter, verbatim=copied
        )


class _Elsewhere(ExtractlyError):
    """A request for another session, passed through the decoder in its place."""

    def __init__(self, request: BackendRequest) -> None:
        super().__init__("decoded by another session")
        self.request = request


def _decode_request(
    session: DecodeSession, request: BackendRequest
) -> DecodeRequest | ExtractlyError:
    feedback = request.feedback
    try:
        return session.request(
            request.text, None if feedback is None else (feedback.raw_text, feedback.error)
        )
    except ExtractlyError as exc:
        return exc


def _adapter_path(
    adapter: str | os.PathLike[str] | None, spec: SchemaSpec, model: LlamaModel
) -> Path | None:
    if adapter is None:
        return None
    if adapter == "auto":
        return lookup(spec, model.path) or shipped_general(model.path)
    return resolve_adapter(adapter)


def usage_of(result: DecodeResult) -> Usage:
    """The ``Usage`` of one decoded document."""
    return Usage(
        prompt_tokens=result.prompt_tokens,
        cached_prompt_tokens=result.cached_tokens,
        sampled_tokens=result.sampled_tokens,
        forced_tokens=result.forced_tokens,
        seconds=result.seconds,
        repetition_breaks=result.repetition_breaks,
        closed_early=result.closed_early,
        sparse_tokens=result.sparse_tokens,
        drafted_tokens=result.drafted_tokens,
        accepted_draft_tokens=result.accepted_draft_tokens,
    )


def answer_from(session: DecodeSession, result: DecodeResult) -> BackendAnswer:
    """A decoded document as a ``BackendAnswer`` (usage and per-field confidence included)."""
    return BackendAnswer(
        raw_text=result.text,
        usage=usage_of(result),
        stop_reason=str(result.stop_reason),
        field_confidence=field_confidence(session.token_bytes(result.tokens), result.logprobs),
    )
