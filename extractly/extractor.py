"""``Extractor``: one schema, reused for many documents; the one path from text to Extraction.

An Extractor is a schema, its prompt material and a ``Chain`` of backends whose first is a
local ``LlamaCppBackend``. Building one does the one-time work: normalize the schema, and open
the local backend's session for it (check the llama.cpp build, load the model once per process,
find a tuned adapter, compile the constraint, tokenize the prompt prefix, create a context), so
that a schema the decoder cannot enforce fails here. Every document then goes one way::

    text ─► clean_text (once) ─► BackendRequest ─► Chain.run_many (first backend batched,
    then validate, re-ask, escalate per document) ─► source spans (once) ─► Extraction

With ``long_documents="split"`` a text too long for one prompt goes through ``Splitter``
(``long_documents.py``), which calls back into the same path for its chunks. Calls from several
threads are serialized per context and give the same results as sequential calls.

Not here: decoding (``engine``), backends, the chain's rules (``chain.py``), validation
(``validate.py``), the option catalogue (``options.py``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator, Iterable, Iterator, Mapping
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, overload

from pydantic import BaseModel
from typing_extensions import Unpack

from .backends import LlamaCppBackend, backend_from_spec
from .backends.base import BackendRequest
from .backends.llama_cpp import SESSION_OPTIONS
from .chain import Chain
from .constraint import CompiledConstraint
from .engine.session import DecodeSession
from .errors import BackendError, ExtractlyError
from .input_text import clean_text
from .long_documents import DEFAULT_CHUNK_TOKENS, LONG_DOCUMENT_MODES, Splitter
from .options import OPTION_NAMES, ExtractorOptions
from .prompt import Prompt
from .result import Extraction
from .schema import Example, SchemaSpec, load_schema
from .settings import Safeguards, Sampling
from .shadow import ShadowRunner, ShadowStats
from .spans import with_source_spans
from .validate import OutputValidator

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

# run_many's batch size. Measured on 2 cores (SNIPS, 3-shot): docs/s at batch 2 / 4 / 6 / 7 is
# 1.5x / 2.0x / 2.0x / 2.1x of batch 1; beyond 4 the output head's compute is the limit, while
# each stream's KV cache costs memory. Up to MAX_INVARIANT_BATCH (7) outputs equal run()'s.
DEFAULT_BATCH_SIZE = 4
MAX_INPUT_TOKENS = 2048

CHAIN_OPTIONS = ("fallback", "min_confidence", "reask", "deadline", "distill_log")
"""Options that make the chain do more than take the first answer; without any of them a
failure is the document's own error and nothing is asked twice."""


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
        examples = options.get("examples")
        self._examples = None if examples is None else tuple(Example.coerce(e) for e in examples)
        self._instructions = options.get("instructions")
        self.batch_size = max(1, options.get("batch_size", DEFAULT_BATCH_SIZE))
        self.max_input_tokens = options.get("max_input_tokens", MAX_INPUT_TOKENS)
        self.long_documents = options.get("long_documents", "error")
        if self.long_documents not in LONG_DOCUMENT_MODES:
            raise ValueError(
                f"long_documents must be one of {list(LONG_DOCUMENT_MODES)}, "
                f"not {self.long_documents!r}"
            )
        self.chunk_tokens = options.get("chunk_tokens") or DEFAULT_CHUNK_TOKENS
        local: dict[str, Any] = {k: v for k, v in options.items() if k in SESSION_OPTIONS}
        local |= {"batch_size": self.batch_size, "max_input_tokens": self.max_input_tokens}
        backend = LlamaCppBackend(options.get("model"), **local)
        self.session: DecodeSession = backend.prepare(
            self.spec, self._examples, self._instructions
        )
        # What was built, for the reader: which model, adapter, constraint and prompt.
        self.backend_name = backend.name = self.session.name
        self.model_path: Path = self.session.model.path
        self.adapter_path: Path | None = self.session.adapter_path
        self.constraint: CompiledConstraint = self.session.constraint
        self.post_checked: tuple[str, ...] = self.constraint.post_checked
        """Schema keywords enforced after decoding rather than by the constraint."""
        self.prompt: Prompt = self.session.prompt
        self.verbatim: tuple[str, ...] = self.session.verbatim
        """Fields copied word for word from the text."""
        self.max_tokens = self.session.max_tokens
        self.validator = OutputValidator(self.spec, self.verbatim)
        self.chain = _chain(backend, options)
        shadow = options.get("shadow")
        self._shadow = None if shadow is None else ShadowRunner(
            shadow, self.spec, self.backend_name, self.chain.distill_log
        )
        self._splitter = Splitter(self, self.chunk_tokens)
        self._closed = False

    # -- counters -----------------------------------------------------------------------------

    @property
    def prefix_tokens(self) -> int:
        """Tokens of the prompt prefix shared by every document (instructions, examples)."""
        return len(self.session.prefix_tokens)

    @property
    def prefix_evaluations(self) -> int:
        """How many times the shared prompt prefix has been run through the model."""
        return self.session.prefix_evaluations

    @property
    def evaluated_tokens(self) -> int:
        """Tokens of prompts and outputs the local model has run (filler tokens not counted)."""
        return self.session.evaluated_tokens

    def render_prompt(self, text: str) -> str:
        """The full prompt for ``text`` as plain text (what a peer library would be sent)."""
        return self.prompt.render(text)

    # -- extraction ---------------------------------------------------------------------------

    def run(self, text: str | bytes) -> Extraction[T]:
        """Extract one object from ``text``; raise an ``ExtractlyError`` subclass on failure."""
        with closing(self._outcomes([text], 1, return_exceptions=True)) as outcomes:
            result = next(outcomes)  # closed at once: the session is free for the next call
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
        return self._outcomes(texts, size, return_exceptions)

    def _outcomes(
        self, texts: Iterable[str | bytes], size: int, return_exceptions: bool
    ) -> Generator[Extraction[T] | ExtractlyError, None, None]:
        if self._closed:
            raise BackendError("this Extractor is closed; build a new one")
        split = self.long_documents == "split"
        run = self._splitter.run_many if split else partial(self.run_fitting, observe=True)
        # Closed on the way out, also when raising: a raised error keeps this frame alive in
        # its traceback, and with it a suspended decode that would hold the session.
        with closing(run(texts, size)) as outcomes:
            for outcome in outcomes:
                if isinstance(outcome, ExtractlyError) and not return_exceptions:
                    raise outcome
                yield outcome

    def run_fitting(
        self, texts: Iterable[str | bytes], batch_size: int, *, observe: bool = False
    ) -> Generator[Extraction[T] | ExtractlyError, None, None]:
        """Extract texts that each fit one prompt; errors in place (``long_documents``'s way
        back into the ordinary path). ``observe``: whole documents, which shadow traffic may
        sample (a long document's chunks are not)."""
        sources: deque[str] = deque()  # each request's checked text, until its result is out

        def requests() -> Iterator[BackendRequest | ExtractlyError]:
            for text in texts:
                try:
                    clean = clean_text(text, self.max_input_tokens)
                except ExtractlyError as exc:
                    sources.append("")
                    yield exc
                    continue
                sources.append(clean)
                yield BackendRequest(
                    text=clean,
                    spec=self.spec,
                    instructions=self._instructions,
                    examples=self._examples,
                    max_tokens=self.max_tokens,
                )

        for outcome in self.chain.run_many(requests(), self.validator, batch_size):
            source = sources.popleft()
            result = with_source_spans(outcome, source)
            if observe and self._shadow is not None:  # queued for a background thread
                self._shadow.observe(source, result)
            yield result

    # -- what long documents need (``long_documents.ChunkRunner``) ----------------------------

    def count_tokens(self, text: str) -> int:
        return self.session.count_tokens(text)

    def prompt_tokens(self, text: str) -> int:
        return self.session.prompt_tokens(text)

    def token_limit(self) -> int:
        return self.session.token_limit()

    # -- lifetime -----------------------------------------------------------------------------

    def shadow_stats(self) -> ShadowStats | None:
        """Shadow traffic so far (``extractly.shadow``): documents seen and sent, per-field
        agreement with the teacher. Waits for the teacher answers in flight. ``None`` without
        the ``shadow`` option."""
        if self._shadow is None:
            return None
        self._shadow.wait()
        return self._shadow.stats

    def close(self) -> None:
        """Free the contexts now (the model stays loaded for other Extractors), and every
        backend's resources; waits for shadow traffic in flight."""
        if self._closed:
            return
        self._closed = True
        if self._shadow is not None:
            self._shadow.close()
        self.chain.close()

    def __enter__(self) -> Extractor[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _chain(local: LlamaCppBackend, options: ExtractorOptions) -> Chain:
    """The local backend first, then the fallbacks the options name, with their policy."""
    chained = any(options.get(name) is not None for name in CHAIN_OPTIONS)
    threads = {"n_threads": options["n_threads"]} if options.get("n_threads") else {}
    rest = [backend_from_spec(s, **threads) for s in options.get("fallback") or ()]
    return Chain(
        [local, *rest],
        min_confidence=options.get("min_confidence"),
        reask=options.get("reask", True) if chained else False,
        retry=options.get("retry"),
        deadline=options.get("deadline"),
        distill_log=options.get("distill_log"),
    )

