"""Extract from documents longer than the context: split, extract each chunk, merge, validate.

Used by ``Extractor.run`` / ``run_many`` when the Extractor was built with
``long_documents="split"``. A text whose prompt fits is extracted as usual (and batched with
its neighbours). A longer one is cut into chunks of whole sentences that each fit
(``chunks.plan_chunks``, counted with the model's own tokenizer, consecutive chunks sharing
two sentences), the chunks are extracted together in batches, and their objects are merged
(``merge.merge_chunks``: lists concatenated and de-duplicated, other values from the most
trustworthy chunk). The merged object is validated against the schema exactly like a single
extraction (jsonschema, then Pydantic). A list longer than the schema's ``maxItems`` is cut
to its most confident items and the cut is recorded in ``Extraction.notes``; if the merged
object still fails (a cross-field validator, say), the single chunk object with the most
values is returned instead, also with a note. Spans are computed against the whole document.

Why opt-in rather than automatic: a merged object is a different kind of answer. It assumes
the document describes *one* object (a report about several companies would get fields from
different ones), and its cost grows with the length (a 1 MB text is hundreds of model calls).
A user who sends a too-long text by mistake should hear about it; one who means it says so
once, with ``long_documents="split"``. The default, ``"error"``, raises ``InputTooLongError``
whose message names this option.

The splitter works against ``ChunkRunner``, a small protocol defined here that the
``Extractor`` implements with public methods (count tokens, the prompt's token limit, run texts
that fit on the ordinary path, validate): this module imports nothing of the Extractor.

Not here: sentence splitting and chunk planning (``chunks.py``), the merge rules
(``merge.py``), span search (``spans.py``), decoding.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Generator, Iterable, Iterator
from typing import Any, Generic, Protocol, TypeVar, cast

from .chunks import plan_chunks
from .confidence import overall_confidence
from .errors import ExtractionError, ExtractlyError, OutputValidationError
from .input_text import clean_text
from .merge import ChunkValue, Merged, merge_chunks, trim_list
from .prompt import compact_json
from .result import Attempt, Extraction, Usage
from .schema import SchemaSpec, prune_absent_nulls
from .spans import source_spans
from .validate import OutputValidator

T = TypeVar("T")

LONG_DOCUMENT_MODES: tuple[str, ...] = ("error", "split")

OVERLAP_SENTENCES = 2
DEFAULT_CHUNK_TOKENS = 128
# Planned chunks leave this share of the budget free: tokens of a chunk counted whole can
# exceed the sum over its sentences (each is checked, and re-planned if it still does not fit).
_MARGIN = 0.92
# Short texts are collected up to this many batches before they are run, so a stream of short
# texts keeps being batched while memory stays bounded.
_FLUSH_BATCHES = 4

Outcome = Extraction[T] | ExtractlyError


class ChunkRunner(Protocol[T]):
    """What the splitter needs from an extractor."""

    @property
    def spec(self) -> SchemaSpec: ...
    @property
    def validator(self) -> OutputValidator: ...
    @property
    def backend_name(self) -> str: ...

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` by itself."""
        ...

    def prompt_tokens(self, text: str) -> int:
        """Tokens of a document's part of the prompt."""
        ...

    def token_limit(self) -> int:
        """Most tokens a document's part of the prompt may have."""
        ...

    def run_fitting(
        self, texts: Iterable[str | bytes], batch_size: int
    ) -> Iterator[Extraction[T] | ExtractlyError]:
        """Extract texts that fit one prompt, on the ordinary path; errors in place."""
        ...


class Splitter(Generic[T]):
    """Long texts split, extracted in chunks and merged; short ones passed through."""

    def __init__(self, runner: ChunkRunner[T], chunk_tokens: int = DEFAULT_CHUNK_TOKENS) -> None:
        self.runner = runner
        self.chunk_tokens = chunk_tokens

    def run_many(
        self, texts: Iterable[str | bytes], size: int
    ) -> Generator[Extraction[T] | ExtractlyError, None, None]:
        """Like ``Extractor.run_many`` with long texts split: results in input order, errors
        in place."""
        runner = self.runner
        short: list[str | bytes] = []
        for text in texts:
            try:
                clean = clean_text(text, None)
                long = runner.prompt_tokens(clean) > runner.token_limit()
            except ExtractlyError:
                long, clean = False, ""  # the ordinary path reports the error in its place
            if not long:
                short.append(text)
                if len(short) >= _FLUSH_BATCHES * size:
                    yield from runner.run_fitting(short, size)
                    short = []
                continue
            if short:
                yield from runner.run_fitting(short, size)
                short = []
            yield self.extract_long(clean, size)
        if short:
            yield from runner.run_fitting(short, size)

    def extract_long(self, text: str, size: int) -> Outcome[T]:
        """One object from a text too long for one prompt (see the module docstring)."""
        runner = self.runner
        started = time.perf_counter()
        spans = self._chunk_spans(text)
        outcomes = list(runner.run_fitting([text[s:e] for s, e in spans], size))
        done = [(i, r) for i, r in enumerate(outcomes) if isinstance(r, Extraction)]
        failed = [(i, r) for i, r in enumerate(outcomes) if not isinstance(r, Extraction)]
        attempts = tuple(a for r in outcomes for a in _attempts(r))
        if not done:
            error = failed[0][1]
            assert isinstance(error, ExtractlyError)
            if isinstance(error, ExtractionError):
                error.attempts = list(attempts)
            return error
        notes = [
            f"chunk {i} (characters {spans[i][0]}-{spans[i][1]}) failed and was left out: {exc}"
            for i, exc in failed
        ]
        chunk_values = [
            ChunkValue(json.loads(r.raw_text), r.field_confidence, text[spans[i][0] : spans[i][1]])
            for i, r in done
        ]
        merged = merge_chunks(chunk_values)
        # Map merged leaves back to the chunk (in ``spans``) they came from.
        merged.origin = {p: done[k][0] for p, k in merged.origin.items()}
        usage = Usage.total([r.usage for _, r in done], time.perf_counter() - started)
        try:
            value = self._validated(merged, notes)
        except OutputValidationError as exc:
            k = _fallback(chunk_values)
            notes.append(
                f"the merged object failed validation ({exc}); returned the object of chunk "
                f"{done[k][0]} alone, the one with the most values"
            )
            merged = Merged(chunk_values[k].value, {}, dict(chunk_values[k].confidence))
            merged.origin = {p: done[k][0] for p in merged.confidence}
            value = done[k][1].value
        regions = {p: spans[i] for p, i in merged.origin.items()}
        return Extraction(
            value=value,
            backend=runner.backend_name,
            attempts=attempts,
            usage=usage,
            raw_text=compact_json(merged.value),
            confidence=overall_confidence(merged.confidence),
            field_confidence=dict(merged.confidence),
            spans=source_spans(text, merged.value, regions),
            chunks=tuple(spans),
            notes=tuple(notes),
        )

    def _chunk_spans(self, text: str) -> list[tuple[int, int]]:
        """Chunks whose prompts each fit; a planned chunk that does not is planned again with a
        smaller budget."""
        runner = self.runner
        limit = runner.token_limit()
        budget = min(self.chunk_tokens, limit - runner.prompt_tokens(""))

        def fits(start: int, end: int) -> bool:
            return runner.prompt_tokens(text[start:end]) <= limit

        count = runner.count_tokens
        result: list[tuple[int, int]] = []
        for start, end in plan_chunks(
            text, count, int(budget * _MARGIN), overlap=OVERLAP_SENTENCES
        ):
            shrink = _MARGIN
            pieces = [(start, end)]
            while not all(fits(s, e) for s, e in pieces) and shrink > 0.3:
                shrink *= 0.8
                sub = plan_chunks(
                    text[start:end], count, int(budget * shrink), overlap=OVERLAP_SENTENCES
                )
                pieces = [(start + s, start + e) for s, e in sub]
            result.extend(pieces)
        return result

    def _validated(self, merged: Merged, notes: list[str]) -> Any:
        """The merged value validated like a single extraction; lists over ``maxItems``
        trimmed."""
        validator = self.runner.validator
        schema = self.runner.spec.user_schema
        for _ in range(64):  # each round fixes at least one list; schemas are not this deep
            candidate = prune_absent_nulls(copy.deepcopy(merged.value), schema, schema)
            too_long = [e for e in validator.schema_errors(candidate) if e.validator == "maxItems"]
            if not too_long:
                break
            for error in too_long:
                path = list(error.path)
                limit = int(cast(int, error.validator_value))
                dropped = trim_list(merged, path, limit)
                if dropped:
                    where = "".join(f"/{p}" for p in path) or "/"
                    notes.append(
                        f"{where}: the merged list had {limit + dropped} items, more than "
                        f"maxItems={limit}; kept the {limit} most confident"
                    )
        return validator.validate(candidate, compact_json(merged.value))


def _fallback(chunks: list[ChunkValue]) -> int:
    """The chunk whose object has the most non-null values (ties: the earliest)."""

    def filled(value: Any) -> int:
        if isinstance(value, dict):
            return sum(filled(v) for v in value.values())
        if isinstance(value, list):
            return sum(filled(v) for v in value)
        return 0 if value is None else 1

    counts = [filled(c.value) for c in chunks]
    return counts.index(max(counts))


def _attempts(outcome: Extraction[Any] | ExtractlyError) -> tuple[Attempt, ...]:
    if isinstance(outcome, Extraction):
        return outcome.attempts
    return tuple(getattr(outcome, "attempts", ()))
