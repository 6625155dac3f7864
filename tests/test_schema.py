from __future__ import annotations

from typing import Literal

import jsonschema
import pytest
from pydantic import BaseModel, Field

from extractly import Safeguards, SchemaError, UnsupportedSchemaError
from extractly.json_schema import allows_null, describe_path
from extractly.schema import (
    EXAMPLES_KEY,
    Example,
    decoded_form,
    load_schema,
    prune_absent_nulls,
    schema_fingerprint,
)


class Guest(BaseModel):
    name: str
    role: Literal["guest", "cohost"] = "guest"


class Episode(BaseModel):
    title: str
    number: int | None = None
    guests: list[Guest] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list, max_length=3)


def test_pydantic_schema_gets_safeguards_on_decode_copy_only() -> None:
    spec = load_schema(Episode, Safeguards())
    props = spec.decode_schema["properties"]
    assert spec.decode_schema["required"] == ["title", "number", "guests", "tags"]
    assert spec.decode_schema["additionalProperties"] is False
    assert props["title"]["maxLength"] == 256
    assert props["guests"]["maxItems"] == 16
    assert props["tags"]["maxItems"] == 3  # a tighter user limit is kept
    guest = spec.decode_schema["$defs"]["Guest"]
    assert guest["required"] == ["name", "role"]
    # The user's schema is untouched: it is what outputs are validated against.
    assert "maxLength" not in spec.user_schema["properties"]["title"]
    assert spec.user_schema["required"] == ["title"]


def test_optional_without_default_becomes_nullable_and_required() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}
    spec = load_schema(schema, Safeguards())
    assert spec.decode_schema["required"] == ["a", "b"]
    assert spec.decode_schema["properties"]["a"]["anyOf"][1] == {"type": "null"}
    assert allows_null(spec.decode_schema["properties"]["b"])


def test_safeguards_off_keeps_schema_semantics() -> None:
    spec = load_schema(Episode, Safeguards.off())
    assert spec.decode_schema == spec.user_schema


def test_fingerprint_tracks_schema_changes() -> None:
    a = load_schema(Episode, Safeguards()).fingerprint
    assert a == load_schema(Episode, Safeguards()).fingerprint
    assert a != load_schema(Episode, Safeguards(max_string_length=10)).fingerprint
    assert schema_fingerprint({"a": 1, "b": 2}) != schema_fingerprint({"b": 2, "a": 1})


def test_prune_absent_nulls_drops_only_non_nullable_optionals() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string"},
            "b": {"type": ["string", "null"]},
            "c": {"type": "array", "items": {"$ref": "#/$defs/I"}},
        },
        "required": ["c"],
        "$defs": {"I": {"type": "object", "properties": {"x": {"type": "integer"}}}},
    }
    value = {"a": None, "b": None, "c": [{"x": None}, {"x": 1}]}
    assert prune_absent_nulls(value, schema, schema) == {"b": None, "c": [{}, {"x": 1}]}


def test_examples_attached_to_schema_are_lifted_out() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        EXAMPLES_KEY: [{"text": "A is x", "output": {"a": "x"}}],
    }
    spec = load_schema(schema, Safeguards())
    assert spec.examples == (Example("A is x", {"a": "x"}),)
    assert EXAMPLES_KEY not in spec.decode_schema


@pytest.mark.parametrize("bad", [42, "schema", {"a": {1, 2}}])
def test_bad_schema_raises_schema_error(bad: object) -> None:
    with pytest.raises(SchemaError):
        load_schema(bad, Safeguards())  # type: ignore[arg-type]


def test_bad_example_raises_schema_error() -> None:
    with pytest.raises(SchemaError, match="example"):
        Example.coerce({"text": 1})


def test_describe_path_reads_like_a_field_path() -> None:
    assert describe_path("/properties/guests/items/properties/name") == "guests[].name"
    assert describe_path("") == "<root>"
    assert describe_path("/$defs/Guest/properties/role") == "#Guest.role"


def test_all_keys_present_leaves_objects_open_where_branches_add_keys() -> None:
    """From MaskBench (Github_medium---o21093 and kin): closing the oneOf branches, or the
    parent they add keys to, made the schema unsatisfiable."""
    schema = {
        "type": "object",
        "properties": {"grant": {"type": "string"}, "uris": {"type": "array"}},
        "oneOf": [
            {"properties": {"grant": {"enum": ["code"]}}, "required": ["grant"]},
            {"properties": {"grant": {"enum": ["token"]}, "ttl": {"type": "integer"}}},
        ],
    }
    decode = load_schema(schema, Safeguards()).decode_schema
    assert decode["required"] == ["grant", "uris"]  # the parent still gets every key
    assert "additionalProperties" not in decode
    assert decode["oneOf"] == schema["oneOf"]  # the branches are left as the user wrote them
    jsonschema.validate({"grant": "code", "uris": []}, decode)
    jsonschema.validate({"grant": "token", "uris": [], "ttl": 5}, decode)


def test_an_optional_array_with_an_enum_says_absent_with_null() -> None:
    schema = {"type": "object", "properties": {"scope": {"type": "array", "enum": [["a"]]}}}
    decode = load_schema(schema, Safeguards()).decode_schema
    jsonschema.validate({"scope": None}, decode)


def test_a_pattern_the_output_validation_cannot_run_is_refused() -> None:
    """From the JSON-Schema-Test-Suite: ``\\p{Letter}`` compiled for decoding, then the
    validation (Python's re) crashed on the answer."""
    schema = {"type": "object", "properties": {"word": {"type": "string", "pattern": "^\\p{L}+$"}}}
    with pytest.raises(UnsupportedSchemaError, match=r"field word: pattern") as info:
        load_schema(schema, Safeguards())
    assert info.value.path == "/properties/word" and info.value.feature == "pattern"


class _Attachment(BaseModel):
    name: str
    size: int | None = None
    tags: list[str] = []


class _Ticket(BaseModel):
    subject: str
    urgent: bool = False
    attachments: list[_Attachment] | None = None
    owner: _Attachment | None = None


def test_a_label_that_leaves_optional_fields_out_takes_the_decoders_form() -> None:
    """Absent optional properties, at the top and inside objects in lists, behind ``$ref`` and
    ``anyOf``, are written as the decoder writes them: the default, else null, else []."""
    spec = load_schema(_Ticket, Safeguards())
    label = {"attachments": [{"name": "a.pdf"}, {"size": 3, "name": "b.png"}], "subject": "Hi"}
    value = decoded_form(label, spec.decode_schema)
    assert value == {
        "subject": "Hi",
        "urgent": False,
        "attachments": [
            {"name": "a.pdf", "size": None, "tags": []},
            {"name": "b.png", "size": 3, "tags": []},
        ],
        "owner": None,
    }
    assert list(value) == list(_Ticket.model_fields)
    assert list(value["attachments"][1]) == ["name", "size", "tags"]
    jsonschema.validate(value, spec.decode_schema)
    assert _Ticket.model_validate(value) == _Ticket.model_validate(label)
