"""Tune settings chosen from the data: ``plan_tune(profile, config, ...)`` -> ``TunePlan``.

Every setting the data decides has a rule here, a threshold measured on the evaluation sets
(README, "Settings chosen from the data"), and a reason the tune prints (``--explain`` prints
them all). A setting given in ``TuneConfig`` (a command-line flag) always wins; the plan says
so. Pure: no model, no I/O.

The rules:

- **verbatim**: a free-string field whose gold values are found in their text as whole words
  at least ``VERBATIM_SHARE`` of the time is tuned (and extracted) as a copy of the text.
- **synthetic values**: a copied field that looks like names (mostly capitalized) and whose
  data shows few distinct values (``unseen_share`` under ``FEW_DISTINCT``: nearly every value
  repeats) gets synthetic values in ``SYNTHETIC_SHARE`` of the pairs, so the tune learns to
  copy names it never saw rather than memorize the few it saw.
- **enum swapping**: a string enum with a value the data (nearly) never shows (fewer than
  ``RARE_ENUM`` of its share under a uniform spread) has its values swapped in those pairs,
  where the text says the value once, so the tune sees every value.
- **schedule**: enough epochs for about ``TARGET_STEPS`` optimizer steps (between
  ``MIN_EPOCHS`` and ``MAX_EPOCHS``), validation twice an epoch, early stopping after
  ``PATIENCE`` passes without improvement (then the best checkpoint is kept; a run that ends
  its schedule keeps its last step), and a wall-time
  budget (``DEFAULT_BUDGET`` unless given) that shortens the schedule once step times are known.
- **warnings** (no setting changes): fields almost always null, contradictory pairs.
  Duplicate pairs are dropped (the file is not touched).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .config import TuneConfig
from .profile import DataProfile

VERBATIM_SHARE = 0.9
"""Copied fields in SNIPS, E2E and US addresses are found in the text 93-100% of the time (the
misses are label noise); a field whose values are normalized (a date written as words, an ISO
date in the gold) is near 0."""
FEW_DISTINCT = 0.3
"""Good-Turing unseen share under which a field's data repeats its values: E2E's ``name``
(20 restaurants over 300 pairs) is 0.003, SNIPS' ``artist`` 0.965."""
NAME_LIKE = 0.5
"""Share of a field's values starting with a capital letter above which they look like names."""
SYNTHETIC_SHARE = 0.5
RARE_ENUM = 0.25
"""An enum value is rare below this fraction of its uniform share of the field's values."""
MOSTLY_NULL = 0.95
TARGET_STEPS = 100
"""Optimizer steps the schedule aims for. 300 SNIPS pairs are 34 steps an epoch, so 3 epochs,
the schedule of every best flagged run in the README. Against a 200-step target (6 epochs, the
best validation checkpoint kept), on SNIPS with 100 test documents each: GetWeather 0.917 slot
F1 against 0.897, AddToPlaylist 0.922 against 0.888, SearchScreeningEvent 0.920 against 0.969,
three others within 0.005; the same mean. See the README's table of the plain command."""
MIN_EPOCHS = 3
MAX_EPOCHS = 10
PATIENCE = 3
MIN_VALIDATION = 30
"""Held-out pairs below which validation does not stop a run. Measured on SNIPS GetWeather
(``benchmarks/learning_curve.py``, random teacher labels): every tune of 25, 50 and 100 labels
stopped early on the 2-10 held-out pairs' noisy loss (100 labels: at step 30 of 99, keeping step
12), and 100 labels scored 0.29 F1 on the 30 gate texts against 0.53 for 50 labels."""
LEARNING_RATE = 2e-3
DEFAULT_BUDGET = 14 * 60.0
"""Seconds for the whole tune unless ``--budget`` says otherwise: 300 pairs tune within 15
minutes on 2 cores."""

Source = Literal["flag", "data", "default"]


@dataclass(frozen=True)
class Choice:
    setting: str
    value: Any
    source: Source
    reason: str


@dataclass(frozen=True)
class Schedule:
    """What the training loop runs (``train.train_lora``)."""

    epochs: int
    learning_rate: float
    patience: int | None
    """Validation passes without improvement before stopping; ``None``: never stop early."""
    eval_every: int
    budget_seconds: float | None
    """Seconds for the whole tune (``None``: no limit)."""


@dataclass(frozen=True)
class TunePlan:
    schedule: Schedule
    verbatim: tuple[str, ...]
    synthetic_share: float
    synthetic_fields: tuple[str, ...]
    swap_enums: tuple[str, ...]
    choices: tuple[Choice, ...]
    warnings: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "choices": [
                {"setting": c.setting, "value": c.value, "source": c.source, "reason": c.reason}
                for c in self.choices
            ],
            "warnings": list(self.warnings),
        }

    def summary(self) -> list[str]:
        """One line per setting: what was chosen and by whom."""
        return [f"tune: {c.setting} = {_shown(c.value)} ({c.source})" for c in self.choices] + [
            f"tune: warning: {w}" for w in self.warnings
        ]

    def explain(self, profile: DataProfile) -> str:
        """The findings per field, then every choice with its reason."""
        lines = [f"{profile.pairs} pairs; per field:"]
        lines.extend("  " + _field_line(name, f.to_json()) for name, f in profile.fields.items())
        lines.append("")
        lines.extend(f"{c.setting} = {_shown(c.value)} [{c.source}]: {c.reason}"
                     for c in self.choices)
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)


def parse_budget(text: str) -> float | None:
    """``"10m"``, ``"90s"``, ``"1h"``, ``"1h30m"``, a number of seconds, or ``"none"`` ->
    seconds (``None`` for no limit)."""
    spec = text.strip().lower()
    if spec in {"none", "0", "off", "unlimited"}:
        return None
    parts = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?", spec)
    if not spec or parts is None or not any(parts.groups()):
        raise ValueError(
            f"--budget takes a duration such as 10m, 90s, 1h30m or none, not {text!r}"
        )
    h, m, s = (float(g) if g else 0.0 for g in parts.groups())
    return h * 3600 + m * 60 + s


def plan_tune(
    profile: DataProfile,
    config: TuneConfig,
    *,
    copyable: Sequence[str],
    train_pairs: int,
    validation_pairs: int | None = None,
) -> TunePlan:
    """The settings for a tune on data with ``profile``; a setting ``config`` gives (not
    ``None``, not ``"auto"`` for the budget) is the user's and wins. ``copyable``: the fields
    the verbatim constraint can hold; ``train_pairs``: how many pairs are trained on;
    ``validation_pairs``: how many are held out (``None``: enough to stop early on)."""
    choices: list[Choice] = []
    copied = _choose_verbatim(profile, copyable, config.verbatim, choices)
    share, synthetic_fields, swap = _choose_augmentation(
        profile, copied, config.synthetic_values, config.swap_enums, choices
    )
    schedule = _choose_schedule(
        train_pairs, config.batch_size, config.epochs, config.learning_rate, config.patience,
        config.budget, choices, validation_pairs,
    )
    return TunePlan(
        schedule=schedule,
        verbatim=copied,
        synthetic_share=share,
        synthetic_fields=synthetic_fields,
        swap_enums=swap,
        choices=tuple(choices),
        warnings=tuple(_warnings(profile)),
    )


def _choose_verbatim(
    profile: DataProfile,
    copyable: Sequence[str],
    verbatim: bool | Sequence[str] | None,
    choices: list[Choice],
) -> tuple[str, ...]:
    fields = profile.fields
    if verbatim is None:
        copied = tuple(
            n for n in copyable
            if (s := fields[n].verbatim_share) is not None and s >= VERBATIM_SHARE
        )
        low = [n for n in copyable if n not in copied and fields[n].verbatim_share is not None]
        reason = (
            f"gold values found in their text as whole words in >= {VERBATIM_SHARE:.0%} of "
            f"pairs: {_list(copied)}"
        )
        if low:
            reason += "; not copied (values not in the text): " + ", ".join(
                f"{n} {fields[n].verbatim_share:.0%}" for n in low
            )
        choices.append(Choice("verbatim", list(copied), "data", reason))
    else:
        copied = tuple(copyable) if verbatim is True else () if verbatim is False else tuple(
            n for n in copyable if n in verbatim
        )
        choices.append(Choice("verbatim", list(copied), "flag", "given"))
    return copied


def _choose_augmentation(
    profile: DataProfile,
    copied: tuple[str, ...],
    synthetic_values: float | None,
    swap_enums: bool | None,
    choices: list[Choice],
) -> tuple[float, tuple[str, ...], tuple[str, ...]]:
    """(share of pairs rewritten, free-text fields given synthetic values, enums swapped)."""
    fields = profile.fields
    names = tuple(
        n for n in copied
        if (u := fields[n].unseen_share) is not None and u < FEW_DISTINCT
        and (c := fields[n].capitalized_share) is not None and c >= NAME_LIKE
    )
    enums = [n for n, f in fields.items() if f.kind == "enum"]
    rare = {
        n: [v for v, c in f.value_counts.items() if c < RARE_ENUM * f.present / len(f.value_counts)]
        for n, f in fields.items() if f.kind == "enum" and f.present
    }
    rare = {n: vs for n, vs in rare.items() if vs}
    swappable = tuple(n for n in rare if (fields[n].said_share or 0.0) >= 0.5)
    if swap_enums is not None:
        swap = tuple(enums) if swap_enums else ()
        choices.append(Choice("swap_enums", list(swap), "flag", "given"))
    elif synthetic_values is not None:
        swap = tuple(enums) if synthetic_values > 0 else ()
        choices.append(Choice("swap_enums", list(swap), "flag",
                              "every enum, as --synthetic-values does unless --no-swap-enums"))
    else:
        swap = swappable
        if rare:
            reason = "enum values rare in the data: " + "; ".join(
                f"{n}: {', '.join(map(repr, vs))}" for n, vs in rare.items())
            cannot = [n for n in rare if n not in swappable]
            if cannot:
                reason += f"; not swapped ({_list(cannot)}: the text rarely says the value)"
        else:
            reason = "no enum value is rare in the data"
        choices.append(Choice("swap_enums", list(swap), "data", reason))
    if synthetic_values is not None:
        share = synthetic_values
        free = tuple(n for n, f in fields.items() if f.kind == "free")
        synthetic_fields = free if share > 0 else ()
        choices.append(Choice("synthetic_values", share, "flag", "given, for every free-text "
                              "field whose value is in the text"))
    else:
        synthetic_fields = names
        share = SYNTHETIC_SHARE if names or swap else 0.0
        if names:
            reason = "copied fields naming few distinct values, which look like names: " + (
                ", ".join(f"{n} ({fields[n].distinct} values, "
                          f"{fields[n].unseen_share or 0.0:.0%} seen once)" for n in names))
        else:
            reason = "no copied field names few distinct values that look like names"
        if swap:
            reason += f"; the enum swaps rewrite {share:.0%} of the pairs"
        choices.append(Choice("synthetic_values", share, "data", reason))
    if swap and share <= 0:
        swap = ()
    return share, tuple(synthetic_fields), tuple(swap)


def _choose_schedule(
    train_pairs: int,
    batch_size: int,
    epochs: int | None,
    learning_rate: float | None,
    patience: int | None,
    budget_seconds: float | Literal["auto"] | None,
    choices: list[Choice],
    validation_pairs: int | None = None,
) -> Schedule:
    per_epoch = max(1, math.ceil(train_pairs / batch_size))
    if epochs is None:
        epochs = min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(TARGET_STEPS / per_epoch)))
        choices.append(Choice(
            "epochs", epochs, "data",
            f"{train_pairs} training pairs are {per_epoch} steps an epoch; about {TARGET_STEPS} "
            f"steps wanted ({MIN_EPOCHS}-{MAX_EPOCHS} epochs); the last step is kept unless "
            "validation stops the run early"))
    else:
        choices.append(Choice("epochs", epochs, "flag", "given"))
    if learning_rate is None:
        learning_rate = LEARNING_RATE
        choices.append(Choice("learning_rate", learning_rate, "default",
                              "the rate of every measured tune (warm-up 10%, linear decay)"))
    else:
        choices.append(Choice("learning_rate", learning_rate, "flag", "given"))
    eval_every = max(1, min(25, math.ceil(per_epoch / 2)))
    chosen_patience: int | None = patience
    if patience is None and validation_pairs is not None and validation_pairs < MIN_VALIDATION:
        chosen_patience = None
        choices.append(Choice(
            "early_stopping", "off", "data",
            f"only {validation_pairs} held-out pairs (under {MIN_VALIDATION}): their loss is too "
            "noisy to stop on, so the run ends its schedule and keeps its last step"))
    elif patience is None:
        chosen_patience = patience = PATIENCE
        choices.append(Choice(
            "early_stopping",
            f"after {patience} validation passes without improvement (then the best checkpoint)",
            "default", f"validation on the held-out slice every {eval_every} steps"))
    else:
        choices.append(Choice("early_stopping", f"after {patience} passes", "flag", "given"))
    if budget_seconds == "auto":
        budget: float | None = DEFAULT_BUDGET
        choices.append(Choice("budget", _duration(budget), "default",
                              "the schedule is shortened to end within it once step times "
                              "are measured; --budget none lifts it"))
    else:
        budget = budget_seconds
        choices.append(Choice("budget", _duration(budget), "flag", "given"))
    return Schedule(epochs, learning_rate, chosen_patience, eval_every, budget)


def _warnings(profile: DataProfile) -> list[str]:
    fields = profile.fields
    warnings = [
        f"{n} is null in {f.null_share:.0%} of pairs ({f.present} set): the tune will mostly "
        "learn null there; add pairs whose text states it"
        for n, f in fields.items() if f.null_share >= MOSTLY_NULL and profile.pairs
    ]
    if profile.duplicates:
        dropped = sum(len(g) - 1 for g in profile.duplicates)
        warnings.append(f"{dropped} duplicate pair(s) dropped: " + "; ".join(
            " = ".join(g) for g in profile.duplicates[:5]) + (" ..." if
                                                             len(profile.duplicates) > 5 else ""))
    if profile.contradictions:
        warnings.append(
            f"{len(profile.contradictions)} text(s) labelled two ways (kept as given): "
            + "; ".join(" vs ".join(g) for g in profile.contradictions[:5])
        )
    return warnings


def _list(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "none"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "none"
    return f"{seconds / 60:g}m" if seconds >= 60 else f"{seconds:g}s"


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _field_line(name: str, found: dict[str, Any]) -> str:
    parts = [f"{name}: {found['kind']}", f"null {found['null_share']:.0%}",
             f"{found['distinct']} distinct"]
    if "verbatim_share" in found:
        parts.append(f"in text {found['verbatim_share']:.0%}")
    if "unseen_share" in found:
        parts.append(f"seen once {found['unseen_share']:.0%}")
    if "capitalized_share" in found:
        parts.append(f"capitalized {found['capitalized_share']:.0%}")
    if "value_counts" in found:
        parts.append("values " + ", ".join(f"{v} {c}" for v, c in found["value_counts"].items()))
    if "said_share" in found:
        parts.append(f"said in text {found['said_share']:.0%}")
    return ", ".join(parts)
