"""Synthetic-value augmentation for ``extractly tune``: free-text values are replaced in the
text and in the target alike, enum values the text says are swapped for other values of the
enum; everything else is left as it was."""

from __future__ import annotations

import json
from typing import Any

from extractly.options import Safeguards
from extractly.schema import load_schema
from extractly.tune.augment import (
    CONNECTORS,
    enum_fields,
    synthesize_values,
)
from extractly.tune.dataset import make_pair
from extractly.tune.profile import free_string_fields

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "area": {"anyOf": [{"enum": ["riverside", "city centre"]}, {"type": "null"}]},
        "code": {"anyOf": [{"type": "string", "pattern": "^[A-Z]{3}$"}, {"type": "null"}]},
        "near": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["name", "area", "code", "near"],
}
ROWS = [
    ("The Eagle is a pub by the river near Burger King.", "The Eagle", "riverside", "Burger King"),
    ("Near Clare Hall you find The Golden Palace.", "The Golden Palace", None, "Clare Hall"),
    ("Fitzbillies, city centre.", "Fitzbillies", "city centre", None),
    ("Wildwood is in the riverside area.", "Wildwood", "riverside", None),
    ("The Punter is close to Café Sicilia.", "The Punter", None, "Café Sicilia"),
    ("Aromi serves food near Raja Indian Cuisine.", "Aromi", None, "Raja Indian Cuisine"),
    ("A pub called the eagle.", "The Eagle", None, None),  # not verbatim: left alone
]


def _pairs() -> tuple[Any, list[Any]]:
    spec = load_schema(SCHEMA, Safeguards())
    pairs = [
        make_pair(t, {"name": n, "area": a, "code": None, "near": r}, spec) for t, n, a, r in ROWS
    ]
    return spec, pairs


def test_only_free_text_fields_are_rewritten() -> None:
    spec, _ = _pairs()
    assert free_string_fields(spec.decode_schema) == ["name", "near"]


def test_rewritten_pairs_name_new_values_in_text_and_target_alike() -> None:
    spec, pairs = _pairs()
    out = synthesize_values(pairs, spec.decode_schema, share=1.0, seed=3)
    assert len(out) == len(pairs)
    originals = {v for _, n, _, r in ROWS for v in (n, r) if v}
    changed = connected = 0
    for before, after in zip(pairs, out, strict=True):
        old, new = json.loads(before.target), json.loads(after.target)
        assert list(new) == list(old)  # key order kept
        assert new["code"] is None
        if old["area"] is None or old["area"] not in before.text:
            assert new["area"] == old["area"]
        else:  # said in the text: maybe swapped for the other value, in both places
            assert new["area"] in after.text
        for field in ("name", "near"):
            if old[field] is None:
                assert new[field] is None
            elif old[field] in before.text:
                assert new[field] not in originals and new[field] in after.text
                words, old_words = new[field].split(), old[field].split()
                if len(words) == len(old_words) + 1:  # a connector between two words
                    assert sum(w in CONNECTORS for w in words[1:-1]) >= 1
                    connected += 1
                else:
                    assert len(words) == len(old_words)
                changed += 1
            else:
                assert new[field] == old[field]
    assert changed == 10
    assert connected >= 1
    assert out[-1] == pairs[-1]  # "the eagle" is not the value verbatim


def test_share_and_seed_decide_which_pairs_change() -> None:
    spec, pairs = _pairs()
    assert synthesize_values(pairs, spec.decode_schema, share=0.0) == pairs
    half = synthesize_values(pairs, spec.decode_schema, share=0.5, seed=1)
    assert sum(a != b for a, b in zip(pairs, half, strict=True)) in (3, 4)
    assert half == synthesize_values(pairs, spec.decode_schema, share=0.5, seed=1)


def test_enum_values_said_in_the_text_are_swapped_evenly() -> None:
    """A value the train split hardly says ("pub") comes out about as often as the others."""
    schema = {
        "type": "object",
        "properties": {
            "kind": {"anyOf": [{"enum": ["coffee shop", "pub", "restaurant"]}, {"type": "null"}]},
            "price": {"enum": ["high", "cheap"]},
            "rating": {"enum": ["high", "low"]},  # shares "high" with price: never swapped
        },
        "required": ["kind", "price", "rating"],
    }
    spec = load_schema(schema, Safeguards())
    assert list(enum_fields(spec.decode_schema)) == ["kind"]
    texts = [("A coffee shop with high prices and a high rating.", "coffee shop")] * 60 + [
        ("Coffee shop, then another coffee shop.", "coffee shop"),  # said twice: left alone
        ("A place to eat.", None),
    ]
    pairs = [
        make_pair(t, {"kind": k, "price": "high", "rating": "high"}, spec) for t, k in texts
    ]
    out = synthesize_values(pairs, spec.decode_schema, share=1.0, seed=0)
    kinds = [json.loads(p.target)["kind"] for p in out[:60]]
    assert {kinds.count(k) for k in ("coffee shop", "pub", "restaurant")} <= set(range(10, 31))
    for after, kind in zip(out[:60], kinds, strict=True):
        assert after.text == f"A {kind} with high prices and a high rating."
        assert json.loads(after.target)["price"] == "high"
    assert out[60:] == pairs[60:]
    capital = [make_pair("Coffee shop in town.", {"kind": "coffee shop", "price": "high",
                                                  "rating": "low"}, spec)] * 12
    for after in synthesize_values(capital, spec.decode_schema, share=1.0, seed=5):
        kind = json.loads(after.target)["kind"]
        assert after.text == f"{kind[0].upper()}{kind[1:]} in town."  # sentence case kept
