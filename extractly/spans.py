"""Source spans: where in the original text each extracted string value occurs. Pure.

For every string leaf of an extracted JSON value, ``source_spans`` finds character offsets
``(start, end)`` into the text, keyed by JSON Pointer (``/title``, ``/guests/1``,
``/address/city``), the same keys as ``Extraction.field_confidence``. The promise:

- If the value occurs verbatim anywhere in the text, ``text[start:end] == value``.
- Otherwise, if it occurs after normalization, ``normalize(text[start:end]) == normalize(value)``
  where ``normalize`` lower-cases and collapses every run of whitespace to one space (and strips
  the ends). A model that wrote "acme corp" for "Acme  Corp" gets the span of "Acme  Corp".
- Otherwise the value has no span (the model did not copy it: it paraphrased, reformatted a
  date, or invented it). Empty strings never have a span.

Which occurrence: values are visited in document order of the JSON (schema order); each is
looked for first inside its *region* when one is given (the chunk of a long document it was
extracted from), then anywhere. Among the candidates the one nearest to the previous value's
span is taken (extracted fields tend to sit near each other), or the first one when no earlier
value was found.

``with_source_spans`` adds them to an ``Extraction`` that has none (every backend's answer).

Not here: numbers and booleans (their text form is ambiguous), fuzzy matching, tokenization.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

from .json_schema import escape
from .result import Extraction

T = TypeVar("T")
E = TypeVar("E", bound=BaseException)

Span = tuple[int, int]


def normalize(text: str) -> str:
    """Lower-case, whitespace runs collapsed to one space, ends stripped."""
    return " ".join(text.lower().split())


def string_leaves(value: Any, pointer: str = "") -> Iterator[tuple[str, str]]:
    """``(JSON Pointer, string)`` for every string leaf of a JSON value, in document order."""
    if isinstance(value, str):
        yield pointer, value
    elif isinstance(value, Mapping):
        for key, child in value.items():
            yield from string_leaves(child, f"{pointer}/{escape(str(key))}")
    elif isinstance(value, list | tuple):
        for index, child in enumerate(value):
            yield from string_leaves(child, f"{pointer}/{index}")


def source_spans(
    text: str, value: Any, regions: Mapping[str, Span] | None = None
) -> dict[str, Span]:
    """Map the JSON Pointer of each string leaf of ``value`` to where it occurs in ``text``.

    ``value`` is JSON data (dicts, lists, strings, ...). ``regions`` optionally maps a pointer
    to the ``(start, end)`` slice of ``text`` the value came from; occurrences there win.
    """
    finder = _Finder(text)
    spans: dict[str, Span] = {}
    anchor: int | None = None
    for pointer, string in string_leaves(value):
        span = finder.find(string, (regions or {}).get(pointer), anchor)
        if span is not None:
            spans[pointer] = span
            anchor = span[0]
    return spans


def with_source_spans(outcome: Extraction[T] | E, text: str) -> Extraction[T] | E:
    """``outcome`` with the spans of its values in ``text`` when it is an ``Extraction`` that
    has none yet (any backend's answer); anything else is returned as it is."""
    if not isinstance(outcome, Extraction) or outcome.spans or not text:
        return outcome
    try:
        value = json.loads(outcome.raw_text)
    except ValueError:
        return outcome
    return dataclasses.replace(outcome, spans=source_spans(text, value))


class _Finder:
    """Searches one text; the normalized copy is built once, on first need."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._folded: str | None = None
        self._origin: list[int] = []

    def find(self, value: str, region: Span | None, anchor: int | None) -> Span | None:
        if not value.strip():
            return None
        windows = ([region] if region is not None else []) + [(0, len(self.text))]
        for search in (self._exact, self._normalized):
            for lo, hi in windows:
                candidates = list(search(value, lo, hi))
                if candidates:
                    return _nearest(candidates, anchor)
        return None

    def _exact(self, value: str, lo: int, hi: int) -> Iterator[Span]:
        start = self.text.find(value, lo, hi)
        while start != -1:
            yield start, start + len(value)
            start = self.text.find(value, start + 1, hi)

    def _normalized(self, value: str, lo: int, hi: int) -> Iterator[Span]:
        folded, origin = self._fold()
        needle = normalize(value)
        if not needle:
            return
        # Positions in the folded text whose original character lies inside [lo, hi).
        start = folded.find(needle)
        while start != -1:
            first, last = origin[start], origin[start + len(needle) - 1]
            span = (first, last + 1)
            if lo <= first and span[1] <= hi and normalize(self.text[first : span[1]]) == needle:
                yield span
            start = folded.find(needle, start + 1)

    def _fold(self) -> tuple[str, list[int]]:
        """The text lower-cased with whitespace runs as one space, and for each of its
        characters the index of the original character it came from."""
        if self._folded is None:
            chars: list[str] = []
            origin: list[int] = []
            previous_space = True  # drop leading whitespace
            for index, ch in enumerate(self.text):
                if ch.isspace():
                    if not previous_space:
                        chars.append(" ")
                        origin.append(index)
                    previous_space = True
                    continue
                previous_space = False
                for low in ch.lower():  # lower() may give several characters ("İ")
                    chars.append(low)
                    origin.append(index)
            self._folded = "".join(chars)
            self._origin = origin
        return self._folded, self._origin


def _nearest(candidates: list[Span], anchor: int | None) -> Span:
    if anchor is None:
        return candidates[0]
    return min(candidates, key=lambda span: (abs(span[0] - anchor), span[0]))
