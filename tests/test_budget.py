"""``budget``: the output-token budget a schema allows (plain values)."""

from __future__ import annotations

from extractly.budget import CEILING, UNBOUNDED_DEFAULT, max_output_tokens


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
