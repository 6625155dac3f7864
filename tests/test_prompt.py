"""``prompt``: few-shot prompts built from a schema (plain values, no model)."""

from __future__ import annotations

from extractly.options import Safeguards
from extractly.prompt import build_prompt, compact_json
from extractly.schema import Example, load_schema


def test_prompt_examples_are_ordered_like_the_schema_and_prefix_is_stable() -> None:
    schema = {
        "type": "object",
        "title": "Pair",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
    }
    spec = load_schema(schema, Safeguards())
    prompt = build_prompt(spec, examples=[Example("b is 2", {"b": 2})])
    assert prompt.prefix[2] == compact_json({"a": None, "b": 2})
    assert prompt.prefix == build_prompt(spec, examples=[Example("b is 2", {"b": 2})]).prefix
    assert prompt.render("x").endswith("Text: x\nJSON:\n")
    assert "Pair" in prompt.prefix[0] and "- b (integer)" in prompt.prefix[0]
    assert build_prompt(spec, instruction_free=True).prefix == ()
