"""Synthetic pairs for the general adapter (``extractly.general``): every output is a valid
instance of its schema, the text states every value the output holds (in the form it was
written) and nothing else is claimed, values are written the ways texts write them, and a
schema the sampler cannot satisfy is refused with the reason."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import jsonschema
import pytest

from benchmarks.datasets import data_dir
from extractly.general import UnsupportedSchemaError, render, sample_instance, synth_pairs, vocab
from schemas.podcast import PodcastEpisode
from tests.support.deliveries import DELIVERY_SCHEMA

BENCH = data_dir() / "jsonschemabench/maskbench_subset.jsonl"
ORDER: dict[str, Any] = {
    "title": "Order",
    "type": "object",
    "$defs": {
        "line": {"type": "object", "properties": {
            "product": {"type": "string"}, "quantity": {"type": "integer", "minimum": 1},
            "unit_price": {"type": "number", "exclusiveMinimum": 0}},
            "required": ["product", "quantity"]},
    },
    "properties": {
        "order_id": {"type": "string"},
        "customer": {"type": "object", "properties": {
            "name": {"type": "string"}, "email": {"type": "string", "format": "email"}},
            "required": ["name"]},
        "placed": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
        "lines": {"type": "array", "items": {"$ref": "#/$defs/line"}, "minItems": 1},
        "gift": {"type": "boolean"},
        "status": {"enum": ["open", "shipped", "cancelled"]},
    },
    "required": ["order_id", "lines"],
}


def _leaves(value: Any, pointer: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        return {k: v for key, inner in value.items()
                for k, v in _leaves(inner, f"{pointer}/{key}").items()}
    if isinstance(value, list):
        return {k: v for i, inner in enumerate(value)
                for k, v in _leaves(inner, f"{pointer}/{i}").items()}
    return {pointer: value}


@pytest.mark.parametrize("schema", [PodcastEpisode.model_json_schema(), DELIVERY_SCHEMA, ORDER],
                         ids=["podcast", "delivery", "order"])
def test_outputs_are_valid_and_the_text_states_every_value(schema: dict[str, Any]) -> None:
    rng = random.Random(7)
    validator = jsonschema.Draft202012Validator(schema,
                                                format_checker=jsonschema.FormatChecker())
    for _ in range(150):
        output = sample_instance(schema, rng)
        assert not list(validator.iter_errors(output)), output
        rendered = render(output, schema, rng)
        leaves = _leaves(output)
        assert set(rendered.written) == set(leaves), (rendered.written, output)
        for pointer, form in rendered.written.items():
            assert form in rendered.text, (pointer, form, rendered.text)
        for key in set(schema["properties"]) - set(output):  # absent: not named in the text
            assert key.replace("_", " ") not in rendered.text.lower(), (key, rendered.text)


def test_values_are_written_the_ways_texts_write_them() -> None:
    schema = PodcastEpisode.model_json_schema()
    rng = random.Random(3)
    dates: set[str] = set()
    durations: set[str] = set()
    for _ in range(300):
        output = sample_instance(schema, rng, absent=0.1)
        written = render(output, schema, rng).written
        if "/published" in written and output["published"]:
            dates.add(re.sub(r"\d", "9", re.sub(r"[A-Z][a-z]+", "Month", written["/published"])))
        if "/duration_minutes" in written and (output["duration_minutes"] or 0) >= 60:
            durations.add(re.sub(r"\d+", "9", written["/duration_minutes"]))
    assert {"9999-99-99", "Month 9, 9999", "9 Month 9999"} <= dates | {
        d.replace("99", "9") for d in dates}, dates
    assert "9 hour 9 minutes" in durations or "9 hours 9 minutes" in durations, durations
    assert any(not re.search(r"\d", d) or "h" in d for d in durations), durations


def test_a_schema_the_sampler_cannot_satisfy_is_refused_with_the_reason() -> None:
    with pytest.raises(UnsupportedSchemaError, match="pattern"):
        sample_instance({"type": "object", "properties": {
            "sku": {"type": "string", "pattern": "^[A-Z]{3}-\\d+$"}}}, random.Random(0))
    with pytest.raises(UnsupportedSchemaError, match="remote"):
        sample_instance({"type": "object", "properties": {
            "x": {"$ref": "https://example.com/x.json"}}, "required": ["x"]}, random.Random(0))


def test_synth_pairs_are_seeded_per_schema_and_report_what_they_skip() -> None:
    skipped: list[tuple[str, str]] = []
    schemas = [("order", ORDER), ("list", {"type": "array"}), ("delivery", DELIVERY_SCHEMA)]
    first = list(synth_pairs(schemas, 5, seed=1, skipped=lambda i, r: skipped.append((i, r))))
    assert [p.schema_id for p in first] == ["order"] * 5 + ["delivery"] * 5
    assert skipped == [("list", "not an object schema with properties")]
    again = list(synth_pairs(schemas, 5, seed=1))
    assert again == first
    alone = list(synth_pairs(schemas[2:], 5, seed=1))
    assert alone == first[5:]  # adding a schema does not change the others' pairs


@pytest.mark.skipif(not BENCH.is_file(),
                    reason=f"{BENCH} not found (set $EXTRACTLY_DATA)")
def test_jsonschemabench_schemas_give_valid_outputs_and_faithful_texts() -> None:
    with BENCH.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f][::5]
    skipped: list[str] = []
    count = 0
    for pair in synth_pairs(((r["id"], r["schema"]) for r in rows
                             if isinstance(r["schema"], dict)), 2,
                            skipped=lambda i, r: skipped.append(r)):
        count += 1
        schema = next(r["schema"] for r in rows if r["id"] == pair.schema_id)
        assert not list(jsonschema.Draft202012Validator(schema).iter_errors(pair.output))
        assert pair.text.strip()
    objects = sum(1 for r in rows if isinstance(r["schema"], dict)
                  and r["schema"].get("type") == "object" and r["schema"].get("properties"))
    assert count >= 2 * 0.8 * objects, (count, objects, skipped[:10])


def test_values_the_schema_identifies_are_sometimes_stated_without_their_label() -> None:
    """An enum value only one field can take, and the record's one title, go bare in part of
    the texts (real texts rarely name the field); a value another field could hold never does."""
    rng = random.Random(5)
    podcast = PodcastEpisode.model_json_schema()
    bare_titles = labelled_titles = 0
    for _ in range(200):
        output = sample_instance(podcast, rng, absent=0.1)
        text = render(output, podcast, rng).text
        assert output["title"] in text
        if "title" in text.lower():
            labelled_titles += 1
        else:
            bare_titles += 1
    assert bare_titles > 40 and labelled_titles > 40, (bare_titles, labelled_titles)

    bare_status = 0
    for _ in range(200):
        output = sample_instance(ORDER, rng, absent=0.1)
        text = render(output, ORDER, rng).text
        if "status" in output:
            bare_status += "status" not in text.lower()
        if "gift" in output:  # yes/no says nothing alone
            assert "gift" in text.lower(), text
    assert bare_status > 30, bare_status


def test_a_name_is_drawn_for_what_it_names() -> None:
    assert vocab.kind_of("restaurant_name") == "business"
    assert vocab.kind_of("movieTitle") == "title"
    assert vocab.kind_of("podcast host") == "person"  # the podcast names the host's show, not him
    restaurant = {"title": "Restaurant", "type": "object", "required": ["name", "owner"],
                  "properties": {"name": {"type": "string"}, "owner": {"type": "object",
                                 "properties": {"name": {"type": "string"}},
                                 "required": ["name"]}}}
    rng = random.Random(3)
    people = {f"{first} {last}" for first in vocab.FIRST for last in vocab.LAST}
    samples = [sample_instance(restaurant, rng) for _ in range(40)]
    assert not any(s["name"] in people for s in samples)  # a restaurant's name, not a person's
    assert all(s["owner"]["name"] in people for s in samples)  # its owner's is a person's


def test_values_whose_kind_shows_go_bare_and_two_of_a_kind_keep_their_labels() -> None:
    """The values layout writes an address as an address line; a value another property could
    hold (two person fields, a random phrase) keeps its label in every layout."""
    address = {"title": "Address", "type": "object",
               "required": ["street", "city", "state", "zip"],
               "properties": {"street": {"type": "string"}, "city": {"type": "string"},
                              "state": {"type": "string"}, "zip": {"type": "string"}}}
    rng = random.Random(11)
    bare_lines = 0
    for _ in range(300):
        output = sample_instance(address, rng)
        rendered = render(output, address, rng)
        assert all(form in rendered.text for form in rendered.written.values())
        words = set(re.findall(r"[a-z]+", rendered.text.lower()))
        bare_lines += not words & {"street", "city", "state", "zip"}
    assert bare_lines > 50, bare_lines  # the values layout (1 in 5), and bare values in others

    meeting = {"type": "object", "required": ["host", "attendee", "agenda"],
               "properties": {"host": {"type": "string"}, "attendee": {"type": "string"},
                              "agenda": {"type": "string"}}}
    for _ in range(300):
        output = sample_instance(meeting, rng)
        text = render(output, meeting, rng).text.lower()
        assert {"host", "attendee", "agenda"} <= set(re.findall(r"[a-z]+", text)), text
