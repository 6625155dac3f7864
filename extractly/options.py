"""Settings that shape decoding: small-model safeguards and sampling.

These are plain frozen dataclasses so they hash into the constraint cache key and print well.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from typing_extensions import TypedDict

if TYPE_CHECKING:
    from .backends.base import Backend
    from .chain import RetryPolicy
    from .distill import DistillLog


@dataclass(frozen=True)
class Safeguards:
    """Guards against the failure modes of a tiny base model.

    A 270M base model repeats itself ("Gemma 3 270M", "Gemma 3 270M", ...), runs lists on, and
    omits or nulls optional keys. Each guard is on by default and can be turned off (``None`` or
    ``False``); ``Safeguards.off()`` gives plain JSON Schema semantics.
    """

    max_list_items: int | None = 16
    """Cap on ``maxItems`` for arrays that set none. Tighter user limits are kept."""

    max_string_length: int | None = 256
    """Cap on ``maxLength`` for free strings that set none (not enums, formats or patterns)."""

    all_keys_present: bool = True
    """Every property is emitted, in schema order; optional ones may be ``null`` (which means
    "absent" for properties that do not allow null). Extra keys are not allowed."""

    repetition_guard: bool = True
    """Refuse the token that would extend a loop repeated three or more times."""

    close_before_limit: bool = True
    """In the last quarter of ``max_tokens``, end open values as soon as the constraint allows
    (reported as ``Usage.closed_early``) rather than run out and raise ``TruncatedOutputError``."""

    @classmethod
    def off(cls) -> Safeguards:
        return cls(
            max_list_items=None,
            max_string_length=None,
            all_keys_present=False,
            repetition_guard=False,
            close_before_limit=False,
        )


@dataclass(frozen=True)
class Sampling:
    """How tokens are chosen among those the constraint allows.

    The default is greedy, which is deterministic: the same text gives the same object whether
    it is decoded alone, in a batch, or from another thread.
    """

    temperature: float = 0.0
    top_k: int = 0
    seed: int = 0


class ExtractorOptions(TypedDict, total=False):
    """Keyword options of ``Extractor``, ``extract`` and ``extract_many``."""

    model: str | os.PathLike[str] | None
    """Path to a GGUF; default ``$EXTRACTLY_MODEL`` or the embedded Gemma 3 270M."""
    examples: Sequence[Any] | None
    """Worked examples ``(text, output)`` for few-shot prompting; default: the schema's own
    (``x-extractly-examples``)."""
    instructions: str | None
    """Text before the examples; ``None`` renders it from the schema, ``""`` sends none."""
    max_tokens: int | None
    """Cap on output tokens; default derived from the schema."""
    max_input_tokens: int
    """Longest document accepted, in tokens (default 2048)."""
    safeguards: Safeguards | None
    """Small-model guards; default ``Safeguards()``."""
    sampling: Sampling | None
    """Token choice; default greedy."""
    batch_size: int
    """Documents decoded together by ``run_many`` (default 4). Up to 7, results equal ``run``
    one by one exactly; larger sizes may differ on close calls."""
    n_ctx: int | None
    """Context size in tokens; default sized for ``batch_size`` documents."""
    n_threads: int | None
    """llama.cpp threads; default all available cores."""
    allow_post_checks: bool
    """Let keywords the decoder cannot enforce be checked after decoding instead."""
    verbatim: Sequence[str] | bool | None
    """Fields whose values must be copied word for word from the text (top-level free
    strings, see ``extractly.verbatim``), in addition to those the schema marks with
    ``x-extractly-verbatim``; ``True``: every top-level free string; ``False``: none, markers
    included; default ``None``: the schema's markers."""
    fallback: Sequence[Backend | str] | None
    """Backends tried after this Extractor's model when its answer fails validation, is
    truncated or is under-confident: ``Backend`` objects, GGUF paths or
    ``"openai:http://host/v1#model"`` (see ``extractly.chain``)."""
    min_confidence: float | None
    """Escalate answers whose least confident field is below this (0-1); default: never."""
    reask: bool
    """Before moving on, feed a validation error back to the same backend once (default on
    whenever a chain is configured)."""
    retry: RetryPolicy | None
    """Retries of transient HTTP failures per backend; default ``RetryPolicy()``."""
    deadline: float | None
    """Seconds per document across the whole chain; no backend starts after it."""
    distill_log: str | os.PathLike[str] | DistillLog | None
    """JSONL file that receives (text, validated output) for documents a later backend
    answered, in the format ``extractly tune`` reads."""
    adapter: str | os.PathLike[str] | None
    """A LoRA adapter GGUF from ``extractly tune`` for this schema, ``"auto"`` (the default
    unless ``examples`` or ``instructions`` are given): the adapter registered for this schema
    and model if there is one, else the base model's few-shot prompt; ``None``: never an
    adapter. With an adapter the prompt is only the text: no instructions, no examples."""
    long_documents: Literal["error", "split"]
    """A text whose prompt does not fit: ``"error"`` (default) raises ``InputTooLongError``;
    ``"split"`` extracts overlapping chunks and merges them (see ``extractly.long_documents``)."""
    chunk_tokens: int | None
    """Text tokens per chunk under ``long_documents="split"`` (default 128, at most what fits)."""


OPTION_NAMES = frozenset(ExtractorOptions.__annotations__)
