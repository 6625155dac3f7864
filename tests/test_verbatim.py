"""Verbatim fields: values copied word for word from the text, enforced while decoding."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, Field

from extractly import Extractor, SchemaError
from extractly.constraint import compile_constraint
from extractly.errors import OutputValidationError
from extractly.options import Safeguards
from extractly.schema import load_schema
from extractly.validate import OutputValidator
from extractly.verbatim import free_string_properties, plan
from schemas.podcast import PodcastEpisode
from tests.support.texts import SHOW_NOTES

VENUE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "x-extractly-verbatim": True},
        "near": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "area": {"enum": ["riverside", "city centre"]},
        "stars": {"type": "integer", "minimum": 1, "maximum": 5},
    },
    "required": ["name", "area"],
}
TEXT = 'Blue Spice is a riverside coffee shop near "Café Sicilia" with 4 stars.'


class Venue(BaseModel):
    name: str = Field(json_schema_extra={"x-extractly-verbatim": True})
    near: str | None = None


def accepts(extractor: Extractor[Any], names: tuple[str, ...], text: str, value: Any) -> bool:
    spec = load_schema(VENUE, Safeguards())
    constraint = compile_constraint(
        spec.decode_schema, extractor.session.tokenizer, verbatim_fields=names
    )
    matcher = constraint.new_matcher(text)
    raw = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    tokens = extractor.session.model.tokenize(raw)
    return bool(matcher.consume_tokens(tokens)) and matcher.is_accepting()


def test_markers_are_read_and_leave_the_fingerprint_alone() -> None:
    marked = load_schema(VENUE, Safeguards())
    unmarked_schema = json.loads(json.dumps(VENUE))
    del unmarked_schema["properties"]["name"]["x-extractly-verbatim"]
    unmarked = load_schema(unmarked_schema, Safeguards())
    assert marked.verbatim == ("name",)
    assert unmarked.verbatim == ()
    # A tuned adapter is keyed by the fingerprint: marking a field must not orphan it.
    assert marked.fingerprint == unmarked.fingerprint
    assert "x-extractly-verbatim" not in json.dumps(marked.decode_schema)
    assert load_schema(Venue, Safeguards()).verbatim == ("name",)


def test_fields_that_cannot_be_verbatim_are_refused_by_name() -> None:
    decode = load_schema(VENUE, Safeguards()).decode_schema
    assert free_string_properties(decode) == ("name", "near")
    with pytest.raises(SchemaError, match=r"'area' cannot be verbatim.*enum"):
        plan(decode, ["area"])
    with pytest.raises(SchemaError, match=r"'stars' cannot be verbatim.*not a string"):
        plan(decode, ["stars"])
    with pytest.raises(SchemaError, match=r"\['city'\] are not properties"):
        plan(decode, ["city"])
    with pytest.raises(SchemaError, match="all_keys_present"):
        plan(load_schema(VENUE, Safeguards.off()).decode_schema, ["name"])
    nested = {"type": "object", "properties": {"venue": VENUE}}
    with pytest.raises(SchemaError, match="only top-level properties"):
        load_schema(nested, Safeguards())


def test_constraint_accepts_copies_and_rejects_inventions(podcast: Extractor[Any]) -> None:
    both = ("name", "near")
    good = {"name": "Blue Spice", "near": '"Café Sicilia"', "area": "riverside", "stars": 4}
    assert accepts(podcast, both, TEXT, good)
    assert accepts(podcast, both, TEXT, {**good, "near": None})
    assert accepts(podcast, both, TEXT, {**good, "name": "coffee shop near"})
    assert not accepts(podcast, both, TEXT, {**good, "name": "The Blue Spice"})
    assert not accepts(podcast, both, TEXT, {**good, "name": "Blue Spic"})  # not a whole word
    assert not accepts(podcast, both, TEXT, {**good, "name": None})  # name is not nullable
    assert not accepts(podcast, both, TEXT, {**good, "area": "harbour"})  # other fields still
    # enforced
    assert not accepts(podcast, both, TEXT, {**good, "stars": 6})
    # Without verbatim fields the same object with an invented name is fine.
    assert accepts(podcast, (), TEXT, {**good, "name": "The Blue Spice"})


def test_extractor_copies_verbatim_fields_from_each_text() -> None:
    with Extractor(PodcastEpisode, verbatim=["title", "host"]) as extractor:
        assert extractor.verbatim == ("title", "host")
        for text, result in zip(SHOW_NOTES, extractor.run_many(SHOW_NOTES), strict=True):
            assert result.value.title and result.value.title in text
            assert result.value.host is None or result.value.host in text
            assert result.spans["/title"][0] >= 0  # copied, so it has a source span
    with pytest.raises(SchemaError, match="'guests' cannot be verbatim"):
        Extractor(PodcastEpisode, verbatim=["guests"])


def test_answers_from_unconstrained_backends_are_checked() -> None:
    spec = load_schema(VENUE, Safeguards())
    validator = OutputValidator(spec, spec.verbatim)
    copied = '{"name":"Blue Spice","near":null,"area":"riverside","stars":4}'
    invented = '{"name":"The Blue Spice","near":null,"area":"riverside","stars":4}'
    assert validator.parse(copied, "complete", source=TEXT)["name"] == "Blue Spice"
    with pytest.raises(OutputValidationError, match="'name' must be copied from the text"):
        validator.parse(invented, "complete", source=TEXT)
    assert validator.parse(invented, "complete")["name"] == "The Blue Spice"  # no text: no check
