"""Span records for the general adapter (``extractly.general.spans``): flat schemas of many
nullable string fields, one short line stating a few of them word for word, every other field
null; a compound's parts in the order a line writes them; a value nothing identifies placed
beside its field's words."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from benchmarks.datasets import data_dir
from extractly.general import vocab
from extractly.general.mix import spans
from extractly.general.spans import (
    ADDRESS,
    COMPOUNDS,
    PHRASED,
    command_pairs,
    compound_pairs,
    phrased_pairs,
    usable_names,
)
from extractly.general.train import main as train_main

BENCH = data_dir() / "jsonschemabench/maskbench_subset.jsonl"
needs_bench = pytest.mark.skipif(not BENCH.is_file(), reason=f"{BENCH} not found "
                                 "(set $EXTRACTLY_DATA)")


@needs_bench
def test_every_field_is_in_the_output_and_every_value_is_in_the_text() -> None:
    mix = spans(BENCH, pairs=600, seed=3)
    assert 585 <= mix.record()["pairs"] <= 615  # each of 11 kinds rounds to whole schemas
    kinds = {s.name.split("/")[1].split("-")[0] for s in mix.sources}
    assert kinds == {*COMPOUNDS, *PHRASED, "measures", "groups", "command"}
    stated = fields = 0
    for source in mix.sources:
        if source.name.startswith(("spans/measures-", "spans/groups-")):
            continue  # converted values, lists: tests/test_general_measures.py, _groups.py
        validator = jsonschema.Draft202012Validator(source.schema)
        for text, output in source.pairs:
            validator.validate(output)
            assert set(output) == set(source.schema["properties"])
            values = [v for v in output.values() if v is not None]
            assert values, text
            for value in values:
                assert value in text, (value, text)
            stated, fields = stated + len(values), fields + len(output)
    assert stated / fields < 0.5  # mostly null, as a short line over a long schema is


def test_an_address_line_writes_its_parts_in_order_and_a_unit_number_follows_its_type() -> None:
    seen = 0
    for schema, pairs in compound_pairs("address", 40, 3, seed=1):
        order = list(schema["properties"])
        by_part = {}
        for part in ADDRESS:  # which field of this schema holds each part
            names = {re.sub(r"[\s_]", "", n.lower()) for n in part.names}
            by_part[part] = next(f for f in order if f.lower().replace("_", "") in names)
        for text, output in pairs:
            lowered = text.lower()
            position = -1
            for part in ADDRESS:
                value = output[by_part[part]]
                if value is None:
                    continue
                found = lowered.find(value.lower(), position + 1)
                assert found > position, (part.names[0], value, text)
                position = found
            unit_type, unit = (output[by_part[p]] for p in ADDRESS[6:8])
            assert (unit_type is None) == (unit is None), text
            seen += 1
    assert seen >= 100


def _slot_fields(schema: dict[str, Any], kind: str) -> dict[str, str]:
    """Which field of a phrased compound's schema holds each slot it has."""
    fields = {}
    for slot, part in PHRASED[kind].parts.items():
        names = {re.sub(r"[\s_]", "", n.lower()) for n in part.names}
        for field in schema["properties"]:
            if field.lower().replace("_", "") in names:
                fields[slot] = field
    return fields


def test_a_works_type_word_sits_beside_its_name_and_a_scores_scale_follows_it() -> None:
    beside = scaled = 0
    for schema, pairs in phrased_pairs("work", 60, 3, seed=2):
        slot = _slot_fields(schema, "work")
        for text, output in pairs:
            name, kind = output.get(slot.get("name", "")), output.get(slot.get("type", ""))
            if name is None or kind is None:
                continue
            at_name, at_kind = text.find(name), text.find(kind)
            gap = (text[at_kind + len(kind): at_name] if at_kind < at_name
                   else text[at_name + len(name): at_kind])
            assert gap in (" ", " called ", " named ", " titled ", ", ", ", the "), text
            beside += 1
    for schema, pairs in phrased_pairs("score", 60, 3, seed=2):
        slot = _slot_fields(schema, "score")
        for text, output in pairs:
            value, top = output.get(slot.get("value", "")), output.get(slot.get("max", ""))
            if value is None or top is None:
                continue
            assert re.search(rf"{re.escape(value)}( \w+)? ?(out of|/|of) ?{re.escape(top)}\b",
                             text), text
            scaled += 1
    assert beside > 30 and scaled > 20


@needs_bench
def test_a_value_nothing_identifies_sits_beside_its_fields_words() -> None:
    groups = usable_names(BENCH)
    assert len(groups) > 100
    assert all(vocab.words_of(n)[0] not in ("is", "has") for g in groups for n in g)
    placed = 0
    for _schema, pairs in command_pairs(groups, 60, 3, seed=5):
        for text, output in pairs:
            for name, value in output.items():
                if value is None or vocab.kind_of(name) != "phrase":
                    continue
                if re.search(r"\b(date|day|time|hour)\b", " ".join(vocab.words_of(name))):
                    continue
                label = " ".join(vocab.words_of(name))
                at = text.lower().find(value.lower())
                window = text.lower()[max(0, at - len(label) - 12): at + len(value)
                                      + len(label) + 12]
                assert label.lower() in window, (name, value, text)
                placed += 1
    assert placed > 100


@needs_bench
def test_span_records_are_seeded() -> None:
    first = spans(BENCH, pairs=90, seed=4)
    again = spans(BENCH, pairs=90, seed=4)
    other = spans(BENCH, pairs=90, seed=5)
    assert [s.pairs for s in first.sources] == [s.pairs for s in again.sources]
    assert [s.pairs for s in first.sources] != [s.pairs for s in other.sources]


def test_spans_without_a_schema_file_is_refused(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        train_main(["--spans", "100", "-o", str(tmp_path / "out")])
    assert "--synthetic" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
