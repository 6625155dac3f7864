"""``DecodeSession``: one schema and one prompt on one loaded model, ready to decode documents.

A session holds what every document under that (schema, prompt) shares: the compiled
constraint, the prompt and its tokenized prefix, the adapter (if any), and the llama.cpp
contexts with their decoders. ``decode`` runs ``DecodeRequest``s in batches and yields
``DecodeResult``s in input order; ``request`` turns a checked document (or a re-ask of it) into
a ``DecodeRequest`` with the model's own tokenizer and refuses one whose prompt does not fit.

Two rules are kept here, and only here:

- **Contexts are made in one place** (``_new_decoder``), which applies the session's adapter
  before anything is evaluated. A batch larger than the context was sized for gets a new
  context from the same factory, so the adapter can never be lost when a batch grows.
- **One decode at a time per context.** Calls from several threads are serialized (so they give
  the same results as sequential calls). A nested call from the *same* thread (``run()`` inside
  a loop over ``run_many()``, or a re-ask while a batch is suspended) is served by a second
  context from the same factory, so the suspended streams are never touched; its results equal
  those of the outer context, since decoding does not depend on the batch.

Not here: the decode loop (``decoder.py``), token choice (``sampling.py``), validation or the
``BackendAnswer`` contract (``extractly.backends.llama_cpp``).
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..constraint import CompiledConstraint
from ..errors import BackendError, ExtractlyError, InputTooLongError
from ..prompt import Prompt
from ..settings import Safeguards, Sampling
from .decoder import MAX_DRAFT, Decoder, DecodeRequest, DecodeResult
from .llama import ContextConfig, LlamaContext, LlamaModel, load_adapter
from .sparse_head import HeadRows, HiddenTap, sparse_head_for
from .tokenizer import closing_tokens, tokenizer_for

CELL_ROUNDING = 256
"""A stream's cells are rounded up to a multiple of this."""


@dataclass(frozen=True)
class SessionConfig:
    """Sizes and decoding settings of one session."""

    max_tokens: int
    """Output tokens per document."""
    max_input_tokens: int = 2048
    """Longest document prompt accepted, in tokens."""
    batch_size: int = 4
    """Documents the first context is sized for (a larger batch gets a larger context)."""
    n_ctx: int | None = None
    """Cells in all; default: every stream holds the prefix, the longest accepted document and
    the longest output."""
    n_threads: int = 0
    """llama.cpp threads; 0: all available cores."""
    sparse_head: bool = True
    """Score small allowed sets from the final hidden state instead of the full output head,
    where the model allows it (``extractly.engine.sparse_head``); False: always the full head."""
    copy_drafts: bool = False
    """Copy speculation (``Decoder.max_draft``), where the sparse head serves the position."""
    sampling: Sampling = field(default_factory=Sampling)
    safeguards: Safeguards = field(default_factory=Safeguards)


class DecodeSession:
    """Decode documents for one (constraint, prompt) on ``model``, with an optional adapter."""

    def __init__(
        self,
        model: LlamaModel,
        constraint: CompiledConstraint,
        prompt: Prompt,
        config: SessionConfig,
        *,
        adapter_path: Path | None = None,
        verbatim: tuple[str, ...] = (),
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer_for(model)
        self.constraint = constraint
        self.prompt = prompt
        self.config = config
        self.adapter_path = adapter_path
        self.verbatim = verbatim
        """Fields copied word for word from the document (the constraint enforces it)."""
        self._adapter: Any = None if adapter_path is None else load_adapter(model, adapter_path)
        self.head: HeadRows | None = None
        """The tied head's rows when the sparse head is on and allowed for this model."""
        self.sparse_refusal = "switched off" if not config.sparse_head else None
        """Why the sparse head is not used, ``None`` when it is."""
        if config.sparse_head:
            self.head, self.sparse_refusal = sparse_head_for(model.path, adapter_path)
        self.prefix_tokens: list[int] = self.tokenize_pieces(prompt.prefix, first=True)
        self._lock = threading.RLock()
        self._depth = 0
        """Decodes under way in the thread that holds the lock (more than one when nested)."""
        self._primary = self._new_decoder(config.batch_size)
        self._spares: list[Decoder] = []
        self._retired: dict[str, float] = dict.fromkeys(_counts(self._primary), 0)
        """The counts (``_counts``) of contexts closed already."""
        self._closed = False

    @property
    def name(self) -> str:
        """``llama.cpp:<model file>``, with ``+<adapter file>`` when an adapter is applied."""
        name = f"llama.cpp:{self.model.path.name}"
        return name if self.adapter_path is None else f"{name}+{self.adapter_path.name}"

    @property
    def max_tokens(self) -> int:
        return self.config.max_tokens

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def busy(self) -> bool:
        """A decode is under way (or suspended between its results)."""
        return self._depth > 0

    # -- prompts ------------------------------------------------------------------------------

    def tokenize_pieces(self, pieces: Sequence[str], *, first: bool = False) -> list[int]:
        """Tokens of prompt pieces, each tokenized by itself (BOS first when ``first``)."""
        tokens: list[int] = [self.model.bos] if first and self.model.add_bos else []
        for piece in pieces:
            tokens.extend(self.model.tokenize(piece))
        return tokens

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenize(text))

    def prompt_tokens(self, text: str) -> int:
        """Tokens of a document's part of the prompt (its text and the frame around it)."""
        return len(self.tokenize_pieces(self.prompt.document(text)))

    def token_limit(self) -> int:
        """Most tokens a document's part of the prompt may have."""
        capacity = self._primary.capacity_for_document() - self.config.max_tokens
        return min(self.config.max_input_tokens, capacity)

    def request(self, text: str, previous: tuple[str, str] | None = None) -> DecodeRequest:
        """The decode request for a checked document; ``previous`` is a rejected answer and
        why, for a re-ask. Raises ``InputTooLongError`` when the prompt does not fit."""
        pieces = (
            self.prompt.document(text) if previous is None else self.prompt.reask(text, *previous)
        )
        tokens = self.tokenize_pieces(pieces)
        limit = self.token_limit()
        if len(tokens) > limit:
            raise InputTooLongError(
                f"the text is {len(tokens)} tokens; at most {limit} fit with this schema's "
                "output. Split it into parts, pass long_documents='split' to extract it in "
                "overlapping chunks and merge them, or raise max_input_tokens / n_ctx.",
                n_tokens=len(tokens),
                limit=limit,
            )
        return DecodeRequest(
            tokens=tokens, matcher=self.constraint.new_matcher(text), max_tokens=self.max_tokens
        )

    def token_bytes(self, tokens: Iterable[int]) -> list[bytes]:
        """The text of each token, as bytes."""
        return [self.tokenizer.decode_bytes([t]) for t in tokens]

    # -- decoding -----------------------------------------------------------------------------

    def decode(
        self, requests: Iterable[DecodeRequest | ExtractlyError], batch_size: int
    ) -> Generator[DecodeResult | ExtractlyError, None, None]:
        """Decode ``requests``, up to ``batch_size`` at once; results (and errors passed in)
        come out in input order. See the module docstring for threads and nesting."""
        size = max(1, batch_size)
        with self._lock:
            if self._closed:
                raise BackendError("this Extractor is closed; build a new one")
            nested = self._depth > 0
            decoder = self._spare(size) if nested else self._primary_for(size)
            self._depth += 1
            try:
                yield from decoder.run(requests, size)
            finally:
                self._depth -= 1
                if nested:
                    self._spares.append(decoder)

    @property
    def evaluated_tokens(self) -> int:
        """Tokens of prompts and outputs run through the model by this session."""
        return int(self._total("evaluated_tokens"))

    @property
    def prefix_evaluations(self) -> int:
        """How many times the shared prompt prefix has been run through the model."""
        return int(self._total("prefix_evaluations"))

    @property
    def passes(self) -> int:
        """``llama_decode`` calls made by this session."""
        return int(self._total("passes"))

    @property
    def decode_seconds(self) -> float:
        """Wall time this session spent inside ``llama_decode``."""
        return self._total("decode_seconds")

    def _total(self, name: str) -> float:
        return self._retired[name] + sum(_counts(d)[name] for d in self._decoders())

    def close(self) -> None:
        """Free the contexts now (the model stays loaded for other sessions)."""
        with self._lock:
            for decoder in self._decoders():
                decoder.ctx.close()
            self._spares = []
            self._closed = True

    # -- contexts -----------------------------------------------------------------------------

    def _decoders(self) -> list[Decoder]:
        return [self._primary, *self._spares]

    def _primary_for(self, size: int) -> Decoder:
        if size > self._primary.max_seqs:
            self._retire(self._primary)
            self._primary = self._new_decoder(size)
        return self._primary

    def _spare(self, size: int) -> Decoder:
        for decoder in self._spares:
            if decoder.max_seqs >= size:
                self._spares.remove(decoder)
                return decoder
        return self._new_decoder(size)

    def _retire(self, decoder: Decoder) -> None:
        for name, value in _counts(decoder).items():
            self._retired[name] += value
        decoder.ctx.close()

    def _new_decoder(self, batch_size: int) -> Decoder:
        """The only factory of contexts: sized for ``batch_size`` documents plus one stream for
        filler tokens, with the session's adapter applied before anything is evaluated."""
        config = self.config
        per_seq = len(self.prefix_tokens) + config.max_input_tokens + config.max_tokens
        per_seq = -(-per_seq // CELL_ROUNDING) * CELL_ROUNDING
        per_seq = min(per_seq, max(self.model.n_ctx_train, 512))
        streams = batch_size + 1
        ctx = LlamaContext(
            self.model,
            ContextConfig(
                n_ctx=config.n_ctx or per_seq * streams,
                n_batch=512,
                n_seq_max=streams,
                n_threads=config.n_threads,
            ),
            tap=None if self.head is None else HiddenTap(),
        )
        if self._adapter is not None:
            ctx.set_adapter(self._adapter)
        guards = config.safeguards
        return Decoder(
            ctx,
            self.tokenizer,
            self.prefix_tokens,
            sampling=config.sampling,
            repetition_guard=guards.repetition_guard,
            closing_tokens=closing_tokens(self.model) if guards.close_before_limit else None,
            head=self.head,
            max_draft=MAX_DRAFT if config.copy_drafts else 0,
        )


def _counts(decoder: Decoder) -> dict[str, float]:
    """What a session adds up over its contexts, closed ones included."""
    return {
        "evaluated_tokens": decoder.evaluated_tokens,
        "prefix_evaluations": decoder.prefix_evaluations,
        "passes": decoder.ctx.passes,
        "decode_seconds": decoder.ctx.decode_seconds,
    }
