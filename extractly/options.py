"""The keyword options of ``Extractor``, ``extract`` and ``extract_many``, in one catalogue.

``ExtractorOptions`` documents every option under its key; ``OPTION_NAMES`` is the set of them.
Only the top of the stack (``extractor.py``, ``_api.py``) imports this module. ``Safeguards``
and ``Sampling`` live in the leaf module ``extractly.settings`` and are re-exported here, so
``from extractly.options import Safeguards`` keeps working. Not here: checking or applying the
options (``extractor.py``); their command-line flags (``cli_options.py``, where every option
has a flag or a reason to be Python-only, as ``tests/test_cli_options.py`` checks).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from typing_extensions import TypedDict

from .settings import Safeguards, Sampling

if TYPE_CHECKING:
    from .backends.base import Backend
    from .distill import DistillLog
    from .retry import RetryPolicy
    from .shadow import Shadow


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
    sparse_head: bool
    """Where the next token is one of a few the constraint allows (at most
    ``extractly.engine.sparse_head.SPARSE_LIMIT``), score only those rows of the output head
    from the final hidden state and skip the 262k-row head (default on, greedy decoding only,
    where the model allows it: a Gemma 3 with its tied Q8_0 head, and no adapter touching it).
    Choices equal the full head's up to float rounding; the ``logprobs`` (and so field
    confidence) of those tokens are over the allowed tokens. False: always the full head."""
    copy_drafts: bool
    """Copy speculation, with the sparse head: where the output is copying the text, draft the
    text's next tokens and verify them in one pass, keeping those the model would have chosen.
    Default off: on tuned SNIPS and E2E (values of 1-3 tokens) it was slower (``run_many``
    1.6-1.7 against 1.9-2.0 docs/s) and, verifying several tokens in one pass, rounds
    differently (outputs changed on 2 of 40 E2E documents). For long copied values."""
    n_threads: int | None
    """llama.cpp threads; default ``$EXTRACTLY_THREADS``, else every core this process may use
    (``extractly.settings.thread_count``). Keep the total over all processes within the cores."""
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
    and model if there is one, else the general adapter shipped in the package (when the model
    is the embedded one it was trained on: the prompt is the schema's instructions and field
    list, no examples); ``None``: never an adapter, the base model's few-shot prompt. With a
    schema's adapter the prompt is only the text: no instructions, no examples."""
    long_documents: Literal["error", "split"]
    """A text whose prompt does not fit: ``"error"`` (default) raises ``InputTooLongError``;
    ``"split"`` extracts overlapping chunks and merges them (see ``extractly.long_documents``)."""
    chunk_tokens: int | None
    """Text tokens per chunk under ``long_documents="split"`` (default 128, at most what fits)."""
    shadow: Shadow | None
    """Send a sampled share of the documents this Extractor's model answered to a teacher as
    well, compare per field (``Extractor.shadow_stats()``) and append the teacher's answers to
    ``distill_log`` (see ``extractly.shadow``); default: none."""


OPTION_NAMES = frozenset(ExtractorOptions.__annotations__)

__all__ = ["OPTION_NAMES", "ExtractorOptions", "Safeguards", "Sampling"]
