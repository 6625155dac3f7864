"""Measure records for the general adapter (``extractly.general.measures``): a quantity stated in
other units than its field's ("1 h 20 min" for ``duration_minutes``) and the output holding the
converted integer. Each line is read back here by a parser of its own and must give the output's
number."""

from __future__ import annotations

import re
from collections.abc import Callable

import jsonschema

from extractly.general.measures import MEASURES, measure_pairs
from extractly.general.mix import spans
from tests.test_general_spans import BENCH, needs_bench

WORDS = {w: i for i, w in enumerate(("zero", "one", "two", "three", "four", "five", "six",
                                     "seven", "eight", "nine", "ten"))}


def minutes_stated(text: str) -> int:
    if "half an hour" in text:
        return 30
    if m := re.search(r"(\d+)(?:\.5| and a half) hours", text):
        return int(m[1]) * 60 + 30
    if m := re.search(r"(\d+) ?(?:hours?|h|hr) (?:and )?(\d+) ?(?:minutes?|min)\b", text):
        return int(m[1]) * 60 + int(m[2])
    if m := re.search(r"(\d+)h(\d\d)\b", text):
        return int(m[1]) * 60 + int(m[2])
    if m := re.search(r"(\d+) ?(?:hours?|hrs|h)\b", text):
        return int(m[1]) * 60
    if "an hour" in text:
        return 60
    if m := re.search(r"(\d+|[a-z]+) (?:minutes|min|mins)\b", text):
        return int(m[1]) if m[1].isdigit() else WORDS[m[1]]
    raise AssertionError(text)


def _seconds(text: str) -> int:
    if m := re.search(r"(\d+):(\d\d)\b", text):
        return int(m[1]) * 60 + int(m[2])
    if m := re.search(r"(\d+) ?(?:minutes?|min) (\d+) ?(?:seconds|s)\b", text):
        return int(m[1]) * 60 + int(m[2])
    if m := re.search(r"(\d+) minutes?\b", text):
        return int(m[1]) * 60
    if m := re.search(r"(\d+) ?(?:seconds|sec|s)\b", text):
        return int(m[1])
    raise AssertionError(text)


def _thousandths(small: str, large: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if m := re.search(rf"(\d+) ?{large} (\d+) ?{small}\b", text):
            return int(m[1]) * 1000 + int(m[2])
        if m := re.search(rf"(\d+)(?:\.(\d))? ?{large}\b", text):
            return int(m[1]) * 1000 + int(m[2] or 0) * 100
        if m := re.search(rf"(\d+) ?{small}\b", text):
            return int(m[1])
        raise AssertionError(text)

    return parse


def _cents(text: str) -> int:
    if m := re.search(r"\$?(\d+)\.(\d\d)", text):
        return int(m[1]) * 100 + int(m[2])
    if m := re.search(r"(\d+) dollars? (\d+) cents", text):
        return int(m[1]) * 100 + int(m[2])
    if m := re.search(r"(\d+) dollars?", text):
        return int(m[1]) * 100
    raise AssertionError(text)


PARSERS = {"minutes": minutes_stated, "seconds": _seconds, "grams": _thousandths("g", "kg"),
           "metres": _thousandths("m", "km"), "cents": _cents}


def _kind(field: str) -> str:
    """The measure a field of a measure schema holds, from its name."""
    words = re.sub(r"([a-z])([A-Z])", r"\1 \2", field).replace("_", " ").lower()
    return next(k for k, m in MEASURES.items() if words in m.names)


def test_a_line_states_the_outputs_number_in_other_units() -> None:
    read = converted = 0
    for schema, pairs in measure_pairs(120, 3, seed=7):
        validator = jsonschema.Draft202012Validator(schema)
        counts = [f for f, node in schema["properties"].items()
                  if node["anyOf"][0]["type"] == "integer"]
        for text, output in pairs:
            validator.validate(output)
            stated = [f for f in counts if output[f] is not None]
            assert stated, text
            if len(stated) > 1:
                continue
            field = stated[0]
            assert PARSERS[_kind(field)](text) == output[field], (field, text, output)
            read += 1
            converted += str(output[field]) not in text
    assert read > 200
    assert converted / read > 0.5  # mostly a conversion, not a copy


def test_minutes_past_an_hour_are_mostly_written_in_hours() -> None:
    hours = total = 0
    for _schema, pairs in measure_pairs(300, 3, seed=8):
        for text, output in pairs:
            for field, value in output.items():
                if isinstance(value, int) and value >= 60 and _kind(field) == "minutes":
                    total += 1
                    hours += bool(re.search(r"\d ?(h|hr|hours?)\b|an hour", text))
    assert total > 30 and hours / total > 0.6


@needs_bench
def test_the_span_mix_holds_measure_records() -> None:
    mix = spans(BENCH, pairs=600, seed=3)
    measures = [s for s in mix.sources if s.name.startswith("spans/measures-")]
    assert 10 <= len(measures) <= 20
