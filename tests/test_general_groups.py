"""Group records for the general adapter (``extractly.general.groups``): a lead (one string) and
the others taking part (a list) told apart by verbs and role words, beside a series, a number,
a date in words and a length in hours and minutes. Each text is read back here: every person in
the output is in the text, a role word before a name is not part of it, the date and the length
the text states are the output's, and nothing of the demo's wording is used."""

from __future__ import annotations

import datetime
import re
from typing import Any

import jsonschema
import pytest

from examples.podcast import SHOW_NOTES
from extractly.general.groups import GATHERINGS, group_pairs
from extractly.general.leakage import near_copies
from extractly.general.spans import field_name
from tests.test_general_measures import minutes_stated

ROLE_WORDS = {w.lower() for g in GATHERINGS.values() for w in (*g.lead_roles, *g.member_roles)}
MONTH = r"(January|February|March|April|May|June|July|August|September|October|November|" \
        r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"


def _all(schemas: int = 120, seed: int = 4) -> list[tuple[dict[str, Any], str, dict[str, Any]]]:
    return [(schema, text, output) for schema, pairs in group_pairs(schemas, 3, seed=seed)
            for text, output in pairs]


def _fields(schema: dict[str, Any]) -> dict[str, str]:
    """Which field of a group schema holds what, from its JSON type and its name."""
    leads = {field_name(n, case) for g in GATHERINGS.values() for n in g.lead_names
             for case in ("snake", "camel", "pascal")}
    roles: dict[str, str] = {}
    for name, node in schema["properties"].items():
        words = re.sub(r"([a-z])([A-Z])", r"\1 \2", name).replace("_", " ").lower()
        branches = node.get("anyOf", [])
        if name in leads:
            roles["lead"] = name
        elif node.get("type") == "array":
            subject = any(w in words for w in ("subject", "theme", "point", "keyword", "agenda"))
            roles["subjects" if subject else "members"] = name
        elif any(b.get("format") == "date" for b in branches):
            roles["date"] = name
        elif any(b.get("type") == "integer" for b in branches):
            roles["minutes" if re.search(r"min|time", words) else "number"] = name
    return roles


def _date_in(text: str) -> datetime.date | None:
    if m := re.search(r"\b(\d{4})-(\d\d)-(\d\d)\b", text):
        return datetime.date(int(m[1]), int(m[2]), int(m[3]))
    if m := re.search(rf"\b{MONTH} (\d+),? (\d{{4}})\b", text):
        return datetime.datetime.strptime(f"{m[1][:3]} {m[2]} {m[3]}", "%b %d %Y").date()
    if m := re.search(rf"\b(\d+) {MONTH} (\d{{4}})\b", text):
        return datetime.datetime.strptime(f"{m[2][:3]} {m[1]} {m[3]}", "%b %d %Y").date()
    return None


def test_every_output_fits_its_schema_and_every_person_is_written_in_the_text() -> None:
    checker = jsonschema.FormatChecker()
    records = _all()
    assert len(records) == 360
    for schema, text, output in records:
        jsonschema.Draft202012Validator(schema, format_checker=checker).validate(output)
        assert list(output) == list(schema["properties"])
        fields = _fields(schema)
        members, lead = output[fields["members"]], output[fields["lead"]]
        for name in members:
            assert name in text, (name, text)
        assert lead is None or lead not in members
        if lead is not None and lead not in text:  # named again by first name only
            assert re.search(rf"\b{lead.split()[0]}\b", text), (lead, text)


def test_a_role_word_before_a_name_is_left_out_of_the_output() -> None:
    with_role = 0
    for schema, text, output in _all():
        fields = _fields(schema)
        people = [output[fields["lead"]], *output[fields["members"]]]
        for name in filter(None, people):
            for m in re.finditer(rf"(\w+) {re.escape(name)}", text):
                if m[1].lower() in ROLE_WORDS:
                    with_role += 1
    assert with_role > 40  # and every output above is the name alone: it is in ``people``
    for _, _, output in _all():
        for value in output.values():
            for person in value if isinstance(value, list) else [value]:
                assert not (isinstance(person, str) and person.split()[0].lower() in ROLE_WORDS)


def test_the_date_and_the_length_the_text_states_are_the_outputs() -> None:
    dates = lengths = 0
    for schema, text, output in _all():
        fields = _fields(schema)
        if "date" in fields:
            stated = _date_in(text)
            assert (None if stated is None else stated.isoformat()) == output[fields["date"]]
            dates += stated is not None
        if "minutes" in fields:
            minutes = output[fields["minutes"]]
            if minutes is None:
                with pytest.raises(AssertionError):  # the text states no length
                    minutes_stated(text)
            else:
                assert minutes_stated(text) == minutes, text
                lengths += 1
    assert dates > 40 and lengths > 40


def test_some_gatherings_have_nobody_else_and_some_have_no_lead() -> None:
    counts = {"empty": 0, "one": 0, "several": 0}
    for schema, _, output in _all():
        members = output[_fields(schema)["members"]]
        counts["empty" if not members else "one" if len(members) == 1 else "several"] += 1
    assert min(counts.values()) > 30, counts


def test_the_demos_wording_is_not_used_and_no_text_is_a_near_copy_of_a_show_note() -> None:
    records = _all(300, seed=0)
    demo_fields = {"host", "guests", "title", "topics", "published", "episode_number",
                   "duration_minutes", "durationMinutes", "DurationMinutes", "Host", "Guests"}
    for schema, text, _ in records:
        assert not demo_fields & set(schema["properties"]), schema["properties"]
        assert not re.search(r"\b(interviews?|welcomes?|talk about|episode|released|"
                             r"published|guests?|host)\b", text, re.IGNORECASE), text
    assert near_copies([t for _, t, _ in records], SHOW_NOTES, threshold=0.2) == []


def test_the_same_seed_gives_the_same_records() -> None:
    assert _all(20, seed=9) == _all(20, seed=9)
    assert _all(20, seed=9) != _all(20, seed=10)
