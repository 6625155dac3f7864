from __future__ import annotations

import types

import extractly
from extractly.budget import CEILING, UNBOUNDED_DEFAULT, max_output_tokens
from extractly.engine.repetition import loop_token
from extractly.options import Safeguards
from extractly.prompt import build_prompt, compact_json
from extractly.schema import Example, load_schema


def test_public_api_is_pinned_and_sorted() -> None:
    # isort-style, as ruff keeps it: CONSTANTS, then Classes, then functions.
    def style(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert extractly.__all__ == sorted(extractly.__all__, key=style)
    # every public attribute that is not a submodule is pinned in __all__ (which
    # submodules are imported depends on what other tests ran first)
    public = {
        n
        for n in dir(extractly)
        if not n.startswith("_") and not isinstance(getattr(extractly, n), types.ModuleType)
    }
    assert set(extractly.__all__) == public


def test_loop_token_finds_the_token_that_extends_a_loop() -> None:
    assert loop_token([5, 1, 2, 1, 2, 1, 2, 1, 2]) == 1
    assert loop_token([7, 7, 7, 7, 7, 7, 7, 7]) == 7
    assert loop_token([1, 0, 0, 0]) is None  # "1000" is not a loop
    assert loop_token([1, 2, 3, 4, 5, 6]) is None
    assert loop_token([]) is None


def test_budget_counts_structure_and_caps() -> None:
    small = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"a": {"type": "string", "maxLength": 20}},
    }
    assert 14 <= max_output_tokens(small) <= 40
    assert max_output_tokens({"type": "string"}) == UNBOUNDED_DEFAULT
    huge = {"type": "array", "maxItems": 10_000, "items": {"type": "string", "maxLength": 100}}
    assert max_output_tokens(huge) == CEILING


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
