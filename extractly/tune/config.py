"""The settings of a fine-tune (``TuneConfig``) and where its progress goes by default.

Kept apart from ``train.py`` so the command line can read the defaults (``--rank``,
``--learning-rate``, ...) without the training code. This module imports only the standard
library. Not here: training (``train.py``), the training data (``dataset.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

AUTO: Literal["auto"] = "auto"

TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class TuneConfig:
    """A tune's settings. ``None`` (``"auto"`` for the budget) means: chosen from the data by
    ``plan.plan_tune``, which records the choice and its reason in the manifest."""

    rank: int = 8
    alpha: int = 16
    learning_rate: float | None = None
    epochs: int | None = None
    batch_size: int = 8
    max_steps: int | None = None
    """Stop after this many optimizer steps (for smoke tests)."""
    validation_share: float = 0.1
    eval_every: int | None = None
    """Steps between validation passes; default once per epoch (at least every 25 steps)."""
    patience: int | None = None
    """Stop when validation loss has not improved for this many passes."""
    budget: float | Literal["auto"] | None = AUTO
    """Seconds for the whole tune (``None``: no limit); the schedule is shortened to fit once
    step times are known. ``"auto"``: ``plan.DEFAULT_BUDGET``."""
    max_seq_len: int = 512
    seed: int = 0
    threads: int | None = None
    """torch threads; default ``settings.thread_count()`` ($EXTRACTLY_THREADS, else all cores)."""
    target_modules: tuple[str, ...] = TARGET_MODULES
    synthetic_values: float | None = None
    """Share of pairs whose free-text values are replaced by synthetic ones (``augment.py``):
    for train data that names few distinct entities, so the tune learns to copy them."""
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    """Dtype of the frozen base weights: "auto" is bf16 where the CPU computes it natively."""
    micro_batch: int = 4
    """Sequences per forward/backward pass; a batch's gradient is accumulated over its micro
    batches (weighted by their chosen tokens, so it equals the whole batch's). Bounds the
    activations kept for the backward pass: peak RSS, not the result."""
    swap_enums: bool | None = None
    """Swap string enum values (text and target) in the synthetic pairs: ``True`` every enum,
    ``False`` none, ``None`` the enums with values rare in the data."""
    verbatim: bool | tuple[str, ...] | None = None
    """Tune for verbatim extraction (``extractly.verbatim``) of these fields (``True``: every
    top-level free string; ``None``: those whose gold values are found in the text):
    the target is replayed through the verbatim constraint, so a value's tokens are chosen
    among the words of the text and the loss there skips the full output head. Extractors
    using the adapter copy those fields too (the manifest lists them)."""
    held_out_report: bool = True
    """Extract the held-out slice with the new adapter and report per-field F1."""
    start_from: str | None = None
    """An adapter GGUF to start the LoRA from (a general adapter, ``extractly.general``;
    ``"general"``: the one shipped in the package) instead of PEFT's zero initialization. Its
    rank and alpha replace ``rank`` and ``alpha``, and the tune trains and serves with its
    prompt (a general adapter's: instructions and field list before the text)."""


Progress = Callable[[str], None]
"""Receives one line of training progress (step, loss, validation loss, ETA)."""


def stderr_progress(line: str) -> None:
    """The default ``Progress``. Training shows it as a bar of steps on stderr, live on a
    terminal, plain lines otherwise (``extractly.progress``), with the other lines (validation
    loss, early stop) above the bar; called directly, it prints ``line`` to stderr at once."""
    print(line, file=sys.stderr, flush=True)
