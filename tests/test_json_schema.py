"""JSON Pointer and JSON Schema helpers (``extractly.json_schema``), and their users. Pure."""

from __future__ import annotations

from typing import Any

import pytest

from extractly.budget import UNBOUNDED_DEFAULT, max_output_tokens
from extractly.json_schema import escape, join_pointer, resolve_ref, unescape, walk


@pytest.mark.parametrize(
    ("token", "escaped"),
    [("a", "a"), ("x/y", "x~1y"), ("~z", "~0z"), ("~1", "~01"), ("/~", "~1~0"), ("", "")],
)
def test_escape_and_unescape_are_inverse(token: str, escaped: str) -> None:
    assert escape(token) == escaped
    assert unescape(escaped) == token


def test_join_pointer_escapes_keys_and_writes_indexes() -> None:
    assert join_pointer([]) == ""
    assert join_pointer(["guests", 0, "a/b", "~"]) == "/guests/0/a~1b/~0"


def test_walk_escapes_property_names() -> None:
    schema = {"type": "object", "properties": {"a/b": {"type": "string"}}}
    assert [p for p, _ in walk(schema)] == ["", "/properties/a~1b"]


ROOT: dict[str, Any] = {
    "$defs": {
        "A": {"$ref": "#/$defs/B"},
        "B": {"type": "string"},
        "x/y": {"type": "integer"},
        "Loop": {"$ref": "#/$defs/Loop"},
        "Flag": True,
    }
}


def test_resolve_ref_follows_local_chains_and_escaped_names() -> None:
    assert resolve_ref({"$ref": "#/$defs/A"}, ROOT) == {"type": "string"}
    assert resolve_ref({"$ref": "#/$defs/x~1y"}, ROOT) == {"type": "integer"}
    assert resolve_ref({"$ref": "#"}, ROOT) is ROOT
    assert resolve_ref({"type": "null"}, ROOT) == {"type": "null"}


def test_resolve_ref_dangling_anchor_and_non_object_targets_are_empty() -> None:
    assert resolve_ref({"$ref": "#/$defs/Missing"}, ROOT) == {}
    assert resolve_ref({"$ref": "#anchor"}, ROOT) == {}
    assert resolve_ref({"$ref": "#/$defs/Flag"}, ROOT) == {}


def test_resolve_ref_leaves_remote_and_circular_references_unfollowed() -> None:
    assert resolve_ref({"$ref": "https://example.com/s.json"}, ROOT) == {
        "$ref": "https://example.com/s.json"
    }
    assert "$ref" in resolve_ref({"$ref": "#/$defs/Loop"}, ROOT)


def _object(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {"a": prop},
        "$defs": defs,
    }


def test_budget_follows_references_and_treats_unresolvable_ones_as_unbounded() -> None:
    bounded = {"S": {"type": "string", "maxLength": 30}}
    direct = max_output_tokens(_object({"type": "string", "maxLength": 30}, {}))
    assert max_output_tokens(_object({"$ref": "#/$defs/S"}, bounded)) == direct
    chained = {**bounded, "T": {"$ref": "#/$defs/S"}}
    assert max_output_tokens(_object({"$ref": "#/$defs/T"}, chained)) == direct
    # resolve_ref gives {} for these; the estimate must not treat that as a known size
    for ref in ("#/$defs/Missing", "#anchor", "https://example.com/s.json", "#/$defs/Loop"):
        defs = {"Loop": {"$ref": "#/$defs/Loop"}}
        assert max_output_tokens(_object({"$ref": ref}, defs)) == UNBOUNDED_DEFAULT, ref
