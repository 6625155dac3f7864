"""Field-level scoring of predicted objects against gold objects. Pure.

A *field* is a top-level key of the schema. Each field of each document is compared as a whole
after ``normalize``: strings are case-folded with whitespace runs collapsed (so "New  York" and
"new york" agree), numbers compare by value (``1 == 1.0``), nested objects and lists are compared
whole with the same normalization inside. ``None``, an absent key, ``""``, ``[]`` and ``{}`` all
mean *absent*.

Counts per field, following the shared data's convention (null counts as absent):

- TP: both present and equal;
- FP: predicted present and not equal to the gold value (a value for an absent field, or a
  wrong value);
- FN: gold present and the prediction not equal (missing or wrong), so a wrong value is both
  an FP and an FN;
- TN: both absent. Accuracy is (TP + TN) / documents: agreement, absent fields included.

Micro precision / recall / F1 add the counts over every field of every document. Not here:
partial credit inside a nested value, fuzzy string matching, reading files or running a model
(``extractly.evaluation`` does that).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Normalizer = Callable[[Any], object]
"""A value -> its comparable form, ``None`` when the value counts as absent."""


def normalize(value: Any) -> str | None:
    """A field value as compared: a canonical string, or ``None`` when it counts as absent."""
    canonical = _canonical(value)
    if canonical is None:
        return None
    if isinstance(canonical, str):
        return canonical
    return json.dumps(canonical, sort_keys=True, ensure_ascii=False)


def _canonical(value: Any) -> Any:
    """``value`` with strings normalized, integral floats as ints and absent parts dropped."""
    if isinstance(value, str):
        return " ".join(value.casefold().split()) or None
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        # Inside an object a null member is the same as a missing one.
        items = {str(k): _canonical(v) for k, v in value.items()}
        return {k: v for k, v in items.items() if v is not None} or None
    if isinstance(value, list | tuple):
        # Items are kept in order (an item that normalizes to absent stays as null).
        return [_canonical(v) for v in value] or None
    return value


@dataclass
class FieldCounts:
    """Counts for one field (or, added up, for many); add them with ``+``."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    """Both absent: not used by precision / recall, counted for accuracy."""
    n: int = 0
    """Comparisons made (documents x fields)."""

    def __add__(self, other: FieldCounts) -> FieldCounts:
        return FieldCounts(
            self.tp + other.tp,
            self.fp + other.fp,
            self.fn + other.fn,
            self.tn + other.tn,
            self.n + other.n,
        )

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def accuracy(self) -> float:
        """Share of comparisons where prediction and gold agree (both absent counts)."""
        return (self.tp + self.tn) / self.n if self.n else 0.0

    @property
    def support(self) -> int:
        """Comparisons where the gold has a value."""
        return self.tp + self.fn


def compare(predicted: Any, gold: Any, normalizer: Normalizer = normalize) -> FieldCounts:
    """The counts of one comparison of one field."""
    p, g = normalizer(predicted), normalizer(gold)
    if p is None:
        return FieldCounts(fn=int(g is not None), tn=int(g is None), n=1)
    if g is None:
        return FieldCounts(fp=1, n=1)
    if p == g:
        return FieldCounts(tp=1, n=1)
    return FieldCounts(fp=1, fn=1, n=1)


def score_fields(
    predicted: Mapping[str, Any] | None,
    gold: Mapping[str, Any],
    fields: Iterable[str] | None = None,
    normalizer: Normalizer = normalize,
) -> dict[str, FieldCounts]:
    """Counts per field for one document; ``predicted=None`` (no usable output) predicts
    nothing. ``fields`` defaults to the gold object's keys."""
    pred = predicted or {}
    names = list(gold) if fields is None else list(fields)
    return {name: compare(pred.get(name), gold.get(name), normalizer) for name in names}


def total(counts: Iterable[FieldCounts]) -> FieldCounts:
    """The sum of ``counts`` (micro counts)."""
    return sum(counts, FieldCounts())
