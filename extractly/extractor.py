"""``Extractor``: one schema, one loaded model, reused for many documents.

Building an Extractor does all the one-time work: normalize the schema, check the llama.cpp
build, load the model (once per process), compile the constraint (cached by fingerprint),
tokenize the shared prompt prefix and create a context. ``run`` and ``run_many`` then only
tokenize the document and decode. One Extractor serializes its callers with a lock, so calls
from several threads give the same results as sequential calls.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, overload

from pydantic import BaseModel
from typing_extensions import Unpack

from .backends import LlamaCppBackend, backend_from_spec
from .backends.base import BackendRequest, Feedback
from .backends.llama_cpp import answer_of
from .budget import max_output_tokens
from .chain import Chain
from .confidence import field_confidence, overall_confidence
from .constraint import CompiledConstraint, compile_constraint
from .engine.decoder import Decoder, DecodeRequest, DecodeResult
from .engine.llama import ContextConfig, LlamaContext, LlamaModel, load_adapter, load_model
from .engine.probe import ensure_llama_runs
from .engine.tokenizer import closing_tokens, tokenizer_for
from .errors import (
    BackendError,
    EmptyInputError,
    ExtractlyError,
    InputError,
    InputTooLongError,
    ModelNotFoundError,
)
from .long_documents import DEFAULT_CHUNK_TOKENS, LONG_DOCUMENT_MODES, run_many_split
from .model_files import resolve_model_path
from .options import OPTION_NAMES, ExtractorOptions, Safeguards, Sampling
from .prompt import Prompt, build_prompt
from .result import Attempt, Extraction, Usage
from .schema import Example, SchemaSpec, load_schema
from .spans import source_spans
from .validate import OutputValidator
from .verbatim import verbatim_fields

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

# run_many's batch size. Measured on 2 cores (SNIPS, 3-shot): docs/s at batch 2 / 4 / 6 / 7 is
# 1.5x / 2.0x / 2.0x / 2.1x of batch 1; beyond 4 the output head's compute is the limit, while
# each stream's KV cache costs memory. Up to MAX_INVARIANT_BATCH (7) outputs equal run()'s.
DEFAULT_BATCH_SIZE = 4
MAX_INPUT_TOKENS = 2048


class Extractor(Generic[T]):
    """Extract ``T`` objects from texts with one schema and one model.

    ``schema`` is a Pydantic model class (values are instances of it) or a JSON Schema dict
    (values are dicts). The keyword options are documented on ``ExtractorOptions``; an unknown
    option raises ``TypeError``.
    """

    @overload
    def __init__(
        self: Extractor[M], schema: type[M], **options: Unpack[ExtractorOptions]
    ) -> None: ...
    @overload
    def __init__(
        self: Extractor[dict[str, Any]],
        schema: Mapping[str, Any],
        **options: Unpack[ExtractorOptions],
    ) -> None: ...

    def __init__(
        self, schema: type[BaseModel] | Mapping[str, Any], **options: Unpack[ExtractorOptions]
    ) -> None:
        unknown = sorted(set(options) - OPTION_NAMES)
        if unknown:
            raise TypeError(f"unknown option(s) {unknown}; known: {sorted(OPTION_NAMES)}")
        self.safeguards = options.get("safeguards") or Safeguards()
        self.sampling = options.get("sampling") or Sampling()
        self.spec: SchemaSpec = load_schema(schema, self.safeguards)
        self.model_path: Path = resolve_model_path(options.get("model"))
        ensure_llama_runs(self.model_path)
        self._model: LlamaModel = load_model(self.model_path)
        self._tokenizer = tokenizer_for(self._model)
        examples = options.get("examples")
        shots = None if examples is None else [Example.coerce(e) for e in examples]
        # By default a tuned adapter registered for this schema and model is used, unless the
        # caller asked for a prompt of their own (examples or instructions).
        prompted = examples is not None or options.get("instructions") is not None
        self.adapter_path: Path | None = _adapter_path(
            options.get("adapter", None if prompted else "auto"), self.spec, self.model_path
        )
        if self.adapter_path is not None and prompted:
            raise ValueError(
                "an adapter replaces the prompt: pass either adapter= or examples= / "
                "instructions=, not both"
            )
        self.verbatim: tuple[str, ...] = verbatim_fields(
            self.spec, options.get("verbatim"), _tuned_verbatim(self.adapter_path)
        )
        self.constraint: CompiledConstraint = compile_constraint(
            self.spec.decode_schema,
            self._tokenizer,
            allow_post_checks=options.get("allow_post_checks", False),
            verbatim_fields=self.verbatim,
        )
        self.prompt: Prompt = build_prompt(
            self.spec,
            instructions=options.get("instructions"),
            examples=shots,
            instruction_free=self.adapter_path is not None,
        )
        self.max_tokens = options.get("max_tokens") or max_output_tokens(self.spec.decode_schema)
        self.max_input_tokens = options.get("max_input_tokens", MAX_INPUT_TOKENS)
        self.batch_size = max(1, options.get("batch_size", DEFAULT_BATCH_SIZE))
        self.long_documents = options.get("long_documents", "error")
        self.chunk_tokens = options.get("chunk_tokens") or DEFAULT_CHUNK_TOKENS
        if self.long_documents not in LONG_DOCUMENT_MODES:
            raise ValueError(
                f"long_documents must be one of {list(LONG_DOCUMENT_MODES)}, "
                f"not {self.long_documents!r}"
            )
        self._n_ctx = options.get("n_ctx")
        self._n_threads = options.get("n_threads") or 0
        self._validator = OutputValidator(self.spec, self.verbatim)
        self._prefix_tokens = self._tokenize_pieces(self.prompt.prefix, first=True)
        self._lock = threading.RLock()
        self._decoder = self._make_decoder(self.batch_size)
        self.backend_name = f"llama.cpp:{self.model_path.name}"
        if self.adapter_path is not None:
            # Each Extractor owns its llama.cpp context, so adapters of several schemas coexist
            # in one process without swapping; the KV cache is dropped all the same.
            self._decoder.ctx.set_adapter(load_adapter(self._model, self.adapter_path))
            self._decoder.invalidate_prefix()
            self.backend_name += f"+{self.adapter_path.name}"
        self._instructions = options.get("instructions")
        self._shots = shots
        self.chain: Chain | None = _chain_for(self, options)

    # -- public API -------------------------------------------------------------------------

    @property
    def post_checked(self) -> tuple[str, ...]:
        """Schema keywords enforced after decoding rather than by the constraint."""
        return self.constraint.post_checked

    @property
    def prefix_evaluations(self) -> int:
        """How many times the shared prompt prefix has been run through the model."""
        return self._decoder.prefix_evaluations

    @property
    def prefix_tokens(self) -> int:
        return len(self._prefix_tokens)

    def render_prompt(self, text: str) -> str:
        """The full prompt for ``text`` as plain text (what a peer library would be sent)."""
        return self.prompt.render(text)

    def run(self, text: str | bytes) -> Extraction[T]:
        """Extract one object from ``text``; raise an ``ExtractlyError`` subclass on failure."""
        result = next(self.run_many([text], batch_size=1, return_exceptions=True))
        if isinstance(result, ExtractlyError):
            raise result
        return result

    @overload
    def run_many(
        self,
        texts: Iterable[str | bytes],
        *,
        batch_size: int | None = ...,
        return_exceptions: Literal[False] = False,
    ) -> Iterator[Extraction[T]]: ...
    @overload
    def run_many(
        self,
        texts: Iterable[str | bytes],
        *,
        batch_size: int | None = ...,
        return_exceptions: Literal[True],
    ) -> Iterator[Extraction[T] | ExtractlyError]: ...

    def run_many(
        self,
        texts: Iterable[str | bytes],
        *,
        batch_size: int | None = None,
        return_exceptions: bool = False,
    ) -> Iterator[Extraction[T]] | Iterator[Extraction[T] | ExtractlyError]:
        """Extract from each text; yield results in input order.

        Up to ``batch_size`` documents are decoded together. A failed document raises its
        error when reached, or with ``return_exceptions=True`` is yielded in its place.
        """
        size = self.batch_size if batch_size is None else max(1, batch_size)
        if self.long_documents == "split":
            return _raising(run_many_split(self, texts, size), return_exceptions)
        return self._run_many(texts, size, return_exceptions)

    def _run_many(
        self, texts: Iterable[str | bytes], size: int, return_exceptions: bool
    ) -> Iterator[Extraction[T] | ExtractlyError]:
        with self._lock:
            if self._decoder.ctx.ptr is None:
                raise BackendError("this Extractor is closed; build a new one")
            if size > self._decoder.max_seqs:
                self._decoder.ctx.close()
                self._decoder = self._make_decoder(size)
            if self.chain is not None:
                yield from self._run_chained(texts, size, return_exceptions)
                return
            # The decoder yields one result per request, in order; ``sources`` holds the
            # checked text of each request until its result arrives (for source spans).
            sources: deque[str] = deque()

            def requests() -> Iterator[DecodeRequest | ExtractlyError]:
                for text in texts:
                    sources.append(self._source(text))
                    yield self._request(text)

            for item in self._decoder.run(requests(), size):
                source = sources.popleft()
                outcome = item if isinstance(item, ExtractlyError) else self._finish(item, source)
                if isinstance(outcome, ExtractlyError) and not return_exceptions:
                    raise outcome
                yield outcome

    # -- internals --------------------------------------------------------------------------

    def _run_chained(
        self, texts: Iterable[str | bytes], size: int, return_exceptions: bool
    ) -> Iterator[Extraction[T] | ExtractlyError]:
        """Decode ``size`` documents at a time, then pass each through the fallback chain.

        The batch is decoded to the end first, so the decoder is idle when the chain re-asks
        this model or another local model runs.
        """
        assert self.chain is not None
        for chunk in _chunks(texts, size):
            results = list(self._decoder.run([self._request(t) for t in chunk], size))
            for text, item in zip(chunk, results, strict=True):
                outcome: Extraction[T] | ExtractlyError
                if isinstance(item, InputError):  # about the text: no backend does better
                    outcome = item
                else:
                    first = item if isinstance(item, ExtractlyError) else answer_of(self, item)
                    outcome = self.chain.run(self._chain_request(text), self._validator, first)
                    outcome = _with_spans(outcome, self._source(text))
                if isinstance(outcome, ExtractlyError) and not return_exceptions:
                    raise outcome
                yield outcome

    def _chain_request(self, text: str | bytes) -> BackendRequest:
        return BackendRequest(
            text=_check_text(text, self.max_input_tokens),
            spec=self.spec,
            instructions=self._instructions,
            examples=self._shots,
            max_tokens=self.max_tokens,
        )

    def _make_decoder(self, batch_size: int) -> Decoder:
        # One KV stream per sequence, each holding the prefix, the longest accepted document
        # and the longest output, plus one stream the decoder uses for filler tokens.
        per_seq = len(self._prefix_tokens) + self.max_input_tokens + self.max_tokens
        per_seq = min(-(-per_seq // 256) * 256, max(self._model.n_ctx_train, 512))
        streams = batch_size + 1
        n_ctx = self._n_ctx or per_seq * streams
        ctx = LlamaContext(
            self._model,
            ContextConfig(n_ctx=n_ctx, n_batch=512, n_seq_max=streams, n_threads=self._n_threads),
        )
        return Decoder(
            ctx,
            self._tokenizer,
            self._prefix_tokens,
            sampling=self.sampling,
            repetition_guard=self.safeguards.repetition_guard,
            closing_tokens=closing_tokens(self._model)
            if self.safeguards.close_before_limit
            else None,
        )

    def _tokenize_pieces(self, pieces: Sequence[str], *, first: bool) -> list[int]:
        tokens: list[int] = [self._model.bos] if first and self._model.add_bos else []
        for piece in pieces:
            tokens.extend(self._model.tokenize(piece))
        return tokens

    def _request(
        self, text: str | bytes, feedback: Feedback | None = None
    ) -> DecodeRequest | ExtractlyError:
        try:
            clean = _check_text(text, self.max_input_tokens)
            pieces = (
                self.prompt.document(clean)
                if feedback is None
                else self.prompt.reask(clean, feedback.raw_text, feedback.error)
            )
            tokens = self._tokenize_pieces(pieces, first=False)
            limit = self._token_limit()
            if len(tokens) > limit:
                raise InputTooLongError(
                    f"the text is {len(tokens)} tokens; at most {limit} fit with this schema's "
                    "output. Split it into parts, pass long_documents='split' to extract it in "
                    "overlapping chunks and merge them, or raise max_input_tokens / n_ctx.",
                    n_tokens=len(tokens),
                    limit=limit,
                )
        except ExtractlyError as exc:
            return exc
        return DecodeRequest(
            tokens=tokens, matcher=self.constraint.new_matcher(clean), max_tokens=self.max_tokens
        )

    # Used by ``long_documents`` to plan chunks with the model's own tokenizer.

    def _clean(self, text: str | bytes, *, any_length: bool = False) -> str:
        return _check_text(text, None if any_length else self.max_input_tokens)

    def _source(self, text: str | bytes) -> str:
        """The text spans are computed against ("" when it fails the input checks)."""
        try:
            return self._clean(text)
        except ExtractlyError:
            return ""

    def _token_limit(self) -> int:
        """Most tokens a document's prompt part (text and its frame) may have."""
        return min(self.max_input_tokens, self._decoder.capacity_for_document() - self.max_tokens)

    def _prompt_tokens(self, text: str) -> int:
        return len(self._tokenize_pieces(self.prompt.document(text), first=False))

    def _count_tokens(self, text: str) -> int:
        return len(self._model.tokenize(text))

    def _decode_one(
        self, text: str, feedback: Feedback | None = None
    ) -> DecodeResult | ExtractlyError:
        """Decode one document (or a re-ask of it) without validating: the backend contract's
        view of this Extractor (``extractly.backends.llama_cpp``)."""
        with self._lock:
            if self._decoder.ctx.ptr is None:
                raise BackendError("this Extractor is closed; build a new one")
            return next(self._decoder.run([self._request(text, feedback)], 1))

    def _finish(self, result: DecodeResult, source: str = "") -> Extraction[T] | ExtractlyError:
        usage = usage_of(result)
        try:
            value = self._validator.parse(result.text, result.stop_reason)
        except ExtractlyError as exc:
            attempt = Attempt(self.backend_name, result.text, str(exc), usage)
            if hasattr(exc, "attempts"):
                exc.attempts = [attempt]
            return exc
        attempt = Attempt(self.backend_name, result.text, None, usage)
        fields = self._confidence_of(result)
        return Extraction(
            value=value,
            backend=self.backend_name,
            attempts=(attempt,),
            usage=usage,
            raw_text=result.text,
            confidence=overall_confidence(fields),
            field_confidence=fields,
            spans=source_spans(source, json.loads(result.text)),
        )

    def _confidence_of(self, result: DecodeResult) -> dict[str, float]:
        """JSON Pointer -> confidence of each value of a decoded document."""
        return field_confidence(
            [self._tokenizer.decode_bytes([t]) for t in result.tokens], result.logprobs
        )

    def close(self) -> None:
        """Free the context now (the model stays loaded for other Extractors), and the
        fallback backends' resources."""
        with self._lock:
            self._decoder.ctx.close()
            if self.chain is not None:
                self.chain.close()

    def __enter__(self) -> Extractor[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_CHAIN_OPTIONS = ("fallback", "min_confidence", "reask", "deadline", "distill_log")


def _chain_for(extractor: Extractor[Any], options: ExtractorOptions) -> Chain | None:
    """The fallback chain the options ask for (this Extractor first), or None."""
    if not any(options.get(name) is not None for name in _CHAIN_OPTIONS):
        return None
    threads = {"n_threads": options["n_threads"]} if options.get("n_threads") else {}
    rest = [backend_from_spec(s, **threads) for s in options.get("fallback") or ()]
    return Chain(
        [LlamaCppBackend.of(extractor), *rest],
        min_confidence=options.get("min_confidence"),
        reask=options.get("reask", True),
        retry=options.get("retry"),
        deadline=options.get("deadline"),
        distill_log=options.get("distill_log"),
    )


def _tuned_verbatim(adapter: Path | None) -> tuple[str, ...]:
    """The verbatim fields an adapter was tuned with: the decoder must copy them too, since
    the tune only learned to rank the tokens the verbatim constraint allows there."""
    manifest = None if adapter is None else adapter.with_name("manifest.json")
    if manifest is None or not manifest.is_file():
        return ()
    try:
        fields = json.loads(manifest.read_text(encoding="utf-8")).get("verbatim", [])
    except (OSError, ValueError):
        return ()
    return tuple(str(f) for f in fields) if isinstance(fields, list) else ()


def _adapter_path(
    adapter: str | os.PathLike[str] | None, spec: SchemaSpec, model_path: Path
) -> Path | None:
    if adapter is None:
        return None
    if adapter == "auto":
        from .tune.registry import lookup

        return lookup(spec, model_path)
    path = Path(adapter).expanduser()
    if path.is_dir():
        path = path / "adapter.gguf"
    if not path.is_file():
        raise ModelNotFoundError(
            f"no adapter GGUF at {path}; pass the file `extractly tune` wrote, or 'auto'"
        )
    return path


def _chunks(texts: Iterable[str | bytes], size: int) -> Iterator[list[str | bytes]]:
    chunk: list[str | bytes] = []
    for text in texts:
        chunk.append(text)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


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
    )


def _raising(
    outcomes: Iterator[Extraction[T] | ExtractlyError], return_exceptions: bool
) -> Iterator[Extraction[T] | ExtractlyError]:
    for outcome in outcomes:
        if isinstance(outcome, ExtractlyError) and not return_exceptions:
            raise outcome
        yield outcome


def _with_spans(
    outcome: Extraction[T] | ExtractlyError, source: str
) -> Extraction[T] | ExtractlyError:
    """``outcome`` with the spans of its values in ``source`` (any backend's answer)."""
    if isinstance(outcome, ExtractlyError) or outcome.spans or not source:
        return outcome
    try:
        value = json.loads(outcome.raw_text)
    except ValueError:
        return outcome
    return dataclasses.replace(outcome, spans=source_spans(source, value))


def _check_text(text: Any, max_input_tokens: int | None) -> str:
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"text is not valid UTF-8 (byte {exc.start}: "
                f"{bytes(text)[exc.start : exc.start + 4]!r}). "
                "Decode it yourself, e.g. data.decode('utf-8', errors='replace'), "
                "or with the right encoding."
            ) from exc
    if not isinstance(text, str):
        raise InputError(f"text must be str or bytes, not {type(text).__name__}")
    if not text.strip():
        raise EmptyInputError("text is empty or whitespace; there is nothing to extract from")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"text contains a lone surrogate at index {exc.start} and cannot be encoded as UTF-8; "
            "clean it with text.encode('utf-8', 'replace').decode()"
        ) from exc
    # A token covers at least one character in practice; refuse absurd sizes before tokenizing.
    if max_input_tokens is not None and len(text) > 16 * max_input_tokens:
        raise InputTooLongError(
            f"the text is {len(text):,} characters, "
            f"far beyond max_input_tokens={max_input_tokens}. Split it into parts, pass "
            "long_documents='split' to extract it in overlapping chunks, or raise "
            "max_input_tokens.",
            n_tokens=-1,
            limit=max_input_tokens,
        )
    return text
