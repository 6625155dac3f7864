"""What an extraction returns: the value and the evidence of how it was obtained.

One convention turns a value into JSON data, everywhere a value is written or compared
(``Extraction.data``, ``extractly run``, the Ray integration, the distillation log, worked
examples, ``extractly eval``): ``as_json_data``, which dumps a Pydantic model **by alias**. The
decoder writes the schema's property names, and Pydantic's ``model_json_schema()`` takes them
from the aliases, so the data has the same keys as ``Extraction.raw_text``, as gold and training
files, and as the schema the output is validated against. Not here: building an ``Extraction``
(``extractor.py``, ``chain.py``) or serializing it to a file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


def as_json_data(value: Any) -> Any:
    """``value`` as JSON data: a Pydantic model is dumped in JSON mode with its aliases as keys
    (the schema's property names, see the module docstring); anything else is returned as is."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    return value


@dataclass(frozen=True)
class Usage:
    """Token counts and time for one document."""

    prompt_tokens: int
    """Document tokens run through the model for this text."""
    cached_prompt_tokens: int
    """Shared prefix tokens (instructions, examples) reused from the KV cache."""
    sampled_tokens: int
    """Output tokens chosen by the model (each costs a pass over the output head)."""
    forced_tokens: int
    """Output tokens forced by the constraint (keys, braces, quotes; no sampling)."""
    seconds: float
    repetition_breaks: int = 0
    """Times the repetition guard refused a token that would extend a loop."""
    closed_early: bool = False
    """Near ``max_tokens`` the decoder closed open values as soon as the constraint allowed."""
    sparse_tokens: int = 0
    """Sampled tokens chosen among a few allowed ones from the hidden state, without the full
    output head (the ``sparse_head`` option); their confidence is over the allowed tokens."""
    drafted_tokens: int = 0
    """Tokens copy speculation proposed from the text (verified in one pass each time)."""
    accepted_draft_tokens: int = 0
    """Of those, the tokens the model chose: sampled without a pass of their own."""

    @property
    def output_tokens(self) -> int:
        return self.sampled_tokens + self.forced_tokens

    @classmethod
    def total(cls, usages: Sequence[Usage], seconds: float) -> Usage:
        """The usage of several runs together (the chunks of a long document): token counts and
        repetition breaks summed, ``closed_early`` if any run closed early, and ``seconds`` as
        given (runs may overlap in time, so their seconds do not add up)."""
        return cls(
            prompt_tokens=sum(u.prompt_tokens for u in usages),
            cached_prompt_tokens=sum(u.cached_prompt_tokens for u in usages),
            sampled_tokens=sum(u.sampled_tokens for u in usages),
            forced_tokens=sum(u.forced_tokens for u in usages),
            seconds=seconds,
            repetition_breaks=sum(u.repetition_breaks for u in usages),
            closed_early=any(u.closed_early for u in usages),
            sparse_tokens=sum(u.sparse_tokens for u in usages),
            drafted_tokens=sum(u.drafted_tokens for u in usages),
            accepted_draft_tokens=sum(u.accepted_draft_tokens for u in usages),
        )


@dataclass(frozen=True)
class Attempt:
    """One try at one document by one backend."""

    backend: str
    raw_text: str
    error: str | None
    usage: Usage
    step: str = "first"
    """Why this try was made: ``first``, ``retry`` (same request after a transient error),
    ``reask`` (the validation error fed back) or ``fallback`` (the next backend of the chain)."""
    confidence: float | None = None
    """Lowest field confidence of this try's answer, when the backend reports one."""

    @property
    def seconds(self) -> float:
        return self.usage.seconds


@dataclass(frozen=True)
class Extraction(Generic[T]):
    """A validated object and how it was obtained."""

    value: T
    backend: str
    """Which model (and adapter) produced ``value``."""
    attempts: tuple[Attempt, ...]
    usage: Usage
    raw_text: str
    """The JSON text exactly as decoded."""
    confidence: float = 1.0
    """The least confident field's confidence (see ``field_confidence``); 1.0 if nothing was
    sampled."""
    field_confidence: Mapping[str, float] = field(default_factory=dict)
    """Per leaf value of ``raw_text``, keyed by JSON Pointer (``/title``, ``/guests/0``): the
    lowest probability the model gave any token it chose (not forced) inside that value."""
    spans: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    """Where each string value occurs in the input text: JSON Pointer -> ``(start, end)``
    character offsets into the whole document (also for a long document extracted in chunks).
    ``text[start:end] == value`` when the value occurs verbatim; otherwise the match ignores
    case and whitespace runs (see ``extractly.spans``). Values the text does not contain have
    no entry."""
    chunks: tuple[tuple[int, int], ...] = ()
    """For a long document extracted in parts (``long_documents="split"``): each chunk's
    ``(start, end)`` character offsets. Empty when the text was extracted in one pass."""
    notes: tuple[str, ...] = ()
    """Anything done to the value after decoding that you should know about (a merged list
    trimmed to ``maxItems``, chunks that failed)."""

    @property
    def data(self) -> Any:
        """``value`` as JSON data: a Pydantic model dumped with ``mode="json"`` and
        ``by_alias=True``, anything else as is (``as_json_data``).

        Aliases are used because the decoder writes the schema's property names, which
        ``model_json_schema()`` takes from the aliases: ``data`` has the same keys as
        ``raw_text``, as gold and training files, and as what ``extractly run`` writes and
        ``extractly eval`` scores. (A field with different validation and serialization
        aliases gets its serialization alias here.)
        """
        return as_json_data(self.value)
