"""``validate`` without the model: the one path from raw text to the user's value."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from extractly import OutputValidationError, TruncatedOutputError
from extractly.schema import load_schema
from extractly.settings import Safeguards
from extractly.validate import OutputValidator, json_span


class Note(BaseModel):
    title: str
    pages: int | None = None


VALIDATOR = OutputValidator(load_schema(Note, Safeguards()))


def test_json_span_finds_the_object_in_chatty_answers() -> None:
    assert json_span('Sure! ```json\n{"x": "a}"}\n``` done') == '{"x": "a}"}'
    assert json_span("no json here") == "no json here"
    assert json_span('{"x": ') == '{"x": '


def test_absent_nulls_are_pruned_then_pydantic_validates() -> None:
    assert VALIDATOR.parse('{"title":"A","pages":null}', "complete") == Note(title="A")
    with pytest.raises(OutputValidationError, match="pages"):
        VALIDATOR.parse('{"title":"A","pages":"many"}', "complete")


def test_truncation_and_early_stops_are_reported_with_the_raw_text() -> None:
    with pytest.raises(TruncatedOutputError) as info:
        VALIDATOR.parse('{"title":"A', "max_tokens")
    assert info.value.raw_text == '{"title":"A'
    with pytest.raises(Exception, match="stopped early"):
        VALIDATOR.parse('{"title":"A"}', "constraint_error")
