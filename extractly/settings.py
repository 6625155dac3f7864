"""Settings that shape decoding: small-model safeguards, sampling, and llama.cpp's thread count.

These are plain frozen dataclasses so they hash into the constraint cache key and print well.
This is a leaf module: it imports nothing from extractly, so the lowest layers (``schema``,
``engine.decoder``, ``tune``) can use it. Not here: the ``Extractor``'s keyword options
(``extractly.options``), which name these settings among the chain's and the runtime's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

THREADS_ENV = "EXTRACTLY_THREADS"
"""Environment variable: llama.cpp threads per process when ``n_threads`` is not given."""


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, so ``taskset`` and containers count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS
        return max(1, os.cpu_count() or 1)


def thread_count(requested: int | None = None, *, fallback: int | None = None) -> int:
    """The one rule for llama.cpp's thread count: ``requested`` (``n_threads``, ``--threads``)
    if given, else ``$EXTRACTLY_THREADS``, else ``fallback`` (a scheduler's reservation, such as
    the CPUs Ray gave an actor) if given, else every core this process may use.

    More threads than cores never helps: ggml's threads meet at a barrier after every
    operation, so a thread waiting for a core stalls all the others.
    """
    if requested is not None and requested > 0:
        return requested
    if requested is not None:
        raise ValueError(f"n_threads must be a positive number of threads, not {requested}")
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return fallback or available_cores()
    try:
        threads = int(raw)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ValueError(
            f"${THREADS_ENV}={raw!r} is not a positive number of threads; "
            f"unset it or set it to 1..{available_cores()}"
        )
    return threads


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
