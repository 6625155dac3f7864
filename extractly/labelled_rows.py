"""Read JSONL files of labelled documents: one ``{"text": ..., "output"|"gold": {...}}`` a line.

Three files share this shape: the distillation log (``extractly.distill``), training pairs
(``extractly tune``) and gold rows (``extractly eval``). They differ only in which label key
comes first and in the error type raised, so one reader serves all three::

    for row in read_labelled_rows("gold.jsonl", error=EvalDataError, keys=("gold", "output")):
        row.text, row.output, row.where, row.extra["id"]

Each line must be UTF-8 and one JSON object with a string ``text`` and an object under the
first of ``keys`` the line has. Blank lines are skipped. The first bad line raises ``error``
with ``file:line``, what is wrong and how to fix it. Rows are read lazily, in file order.

Not here: checking a label against a schema (each caller does that with its own rules), the
input rows of ``extractly run`` (``etl/rows.py``, which keeps bad rows as dead letters instead
of raising), or writing files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import DataFileError

DEFAULT_KEYS = ("output", "gold")
"""Label keys, in order of preference: ``output`` (the distillation log, ``tune``), ``gold``."""


@dataclass(frozen=True)
class LabelledRow:
    """One document and the object labelled for it."""

    text: str
    output: Mapping[str, Any]
    """The label: the object under the first of the reader's ``keys`` the row has."""
    where: str
    """Where the row came from, for messages: ``file:line`` (or what the caller named it)."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """The row's other keys (``id``, ``schema``, ``backend``, ...), without ``text`` and the
    label keys."""


def read_labelled_rows(
    path: str | os.PathLike[str],
    *,
    error: type[DataFileError] = DataFileError,
    keys: Sequence[str] = DEFAULT_KEYS,
) -> Iterator[LabelledRow]:
    """Every labelled row of the JSONL file ``path``; ``error`` naming ``file:line`` on the first
    line that is not UTF-8, not JSON, or not an object with a string ``text`` and an object
    label (see ``labelled_row``)."""
    with open(path, "rb") as f:
        for number, raw_line in enumerate(f, 1):
            where = f"{path}:{number}"
            try:
                line = raw_line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise error(
                    f"{where}: not UTF-8 (byte {exc.start}); re-encode the file as UTF-8"
                ) from None
            if not line.strip():
                continue
            try:
                parsed = json.loads(line)
            except json.JSONDecodeError as exc:
                raise error(
                    f"{where}: not JSON ({exc.msg} at column {exc.colno}); each line must be "
                    "one JSON object. Fix or drop this line."
                ) from None
            yield labelled_row(parsed, where, error=error, keys=keys)


def labelled_row(
    raw: Any,
    where: str,
    *,
    error: type[DataFileError] = DataFileError,
    keys: Sequence[str] = DEFAULT_KEYS,
) -> LabelledRow:
    """A ``LabelledRow`` from one parsed row; ``error`` naming ``where`` if it has the wrong
    shape. The label is the value of the first of ``keys`` the row has (so ``"gold": null``
    is an error even when ``output`` is there too)."""
    problem = _shape_problem(raw, keys)
    if problem is not None:
        first, rest = keys[0], "".join(f" (or {k!r})" for k in keys[1:])
        raise error(
            f"{where}: expected an object with a string 'text' and an object {first!r}{rest}, "
            f'like {{"text": "...", "{first}": {{...}}}}; {problem}. Fix or drop this line.'
        )
    label = next(k for k in keys if k in raw)
    return LabelledRow(
        text=raw["text"],
        output=raw[label],
        where=where,
        extra={k: v for k, v in raw.items() if k != "text" and k not in keys},
    )


def _shape_problem(raw: Any, keys: Sequence[str]) -> str | None:
    """What is wrong with the shape of ``raw`` (``None`` if nothing is)."""
    if not isinstance(raw, Mapping):
        return f"the row is {_json_type(raw)}"
    if not isinstance(raw.get("text"), str):
        return "'text' is missing" if "text" not in raw else f"'text' is {_json_type(raw['text'])}"
    label = next((k for k in keys if k in raw), None)
    if label is None:
        return "it has no " + " or ".join(repr(k) for k in keys)
    if not isinstance(raw[label], Mapping):
        return f"{label!r} is {_json_type(raw[label])}"
    return None


def _json_type(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null" if value is None else type(value).__name__
