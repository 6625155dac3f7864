"""The documents an evaluation got wrong, and how, field by field. Pure.

A field of a document is wrong in one of three ways (``extractly.scoring``'s counts, null and
empty counting as absent): *missed* (the gold has a value, the prediction none: an FN),
*invented* (a value where the gold has none: an FP) or a *wrong value* (both have one and they
differ: an FP and an FN). A failed extraction predicts nothing, so its gold fields are missed.

``WrongDocument`` keeps what a reader needs to see why: the text, the gold and predicted
objects, each wrong field's kind, and the spans of both (the predicted ones from the
extraction, the gold ones found the same way, with ``extractly.spans``), so a report can
highlight where each value is, or show that it is nowhere in the text. ``mistakes_json`` is
the report's JSON for them: the documents, and for each field and kind the documents' indexes.

Not here: running or scoring (``extractly.evaluation``), rendering (``extractly.eval_report``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .scoring import FieldCounts
from .spans import Span, source_spans

MISSED = "missed"
INVENTED = "invented"
WRONG_VALUE = "wrong_value"
KINDS = (WRONG_VALUE, MISSED, INVENTED)
"""Every kind, in the order reports list them."""


def kind_of(counts: FieldCounts) -> str | None:
    """How one field of one document is wrong, or ``None`` when it is right."""
    if counts.fp and counts.fn:
        return WRONG_VALUE
    if counts.fn:
        return MISSED
    if counts.fp:
        return INVENTED
    return None


@dataclass(frozen=True)
class WrongDocument:
    row: int
    """0-based index of the row among the evaluated rows."""
    where: str
    id: str | None
    text: str
    gold: Mapping[str, Any]
    predicted: Mapping[str, Any] | None
    """``None`` when the extraction failed (``error`` says how)."""
    fields: dict[str, str]
    """Each wrong field -> its kind."""
    gold_spans: dict[str, Span] = field(default_factory=dict)
    predicted_spans: dict[str, Span] = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "where": self.where,
            "id": self.id,
            "text": self.text,
            "gold": dict(self.gold),
            "predicted": None if self.predicted is None else dict(self.predicted),
            "error": self.error,
            "fields": dict(self.fields),
            "gold_spans": {k: list(v) for k, v in self.gold_spans.items()},
            "predicted_spans": {k: list(v) for k, v in self.predicted_spans.items()},
        }


def wrong_document(
    row: int,
    where: str,
    ident: str | None,
    text: str,
    gold: Mapping[str, Any],
    predicted: Mapping[str, Any] | None,
    counts: Mapping[str, FieldCounts],
    *,
    predicted_spans: Mapping[str, Span] | None = None,
    error: str | None = None,
) -> WrongDocument | None:
    """The record of one scored document, or ``None`` when every field is right."""
    kinds = {name: kind for name, c in counts.items() if (kind := kind_of(c)) is not None}
    if not kinds:
        return None
    return WrongDocument(
        row=row,
        where=where,
        id=ident,
        text=text,
        gold=gold,
        predicted=predicted,
        fields=kinds,
        gold_spans=source_spans(text, {k: gold.get(k) for k in kinds}),
        predicted_spans=dict(predicted_spans or {}),
        error=error,
    )


def mistakes_json(documents: Sequence[WrongDocument], fields: Sequence[str]) -> dict[str, Any]:
    """``{"documents": [...], "by_field": {field: {kind: [document index, ...]}}}``; every
    field and kind is present, empty lists included, so a CI check can read any of them."""
    by_field: dict[str, dict[str, list[int]]] = {
        name: {kind: [] for kind in KINDS} for name in fields
    }
    for index, doc in enumerate(documents):
        for name, kind in doc.fields.items():
            by_field.setdefault(name, {k: [] for k in KINDS})[kind].append(index)
    return {"documents": [d.to_json() for d in documents], "by_field": by_field}
