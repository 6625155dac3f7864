"""Synthetic-value augmentation of training pairs: teach the tune to copy, not to memorize.

A train split often names few distinct entities (E2E's 4,299 train records name 21 restaurants,
more than half starting with "The"), while the documents the adapter will see name others. A
tune on such data learns the names instead of where to copy them from: it wrote "The Blue
Spice" for "Blue Spice is a coffee shop", because "The" starts most names it saw.

``synthesize_values`` rewrites a share of the pairs: every top-level free-text string field
(a string with no enum, const, pattern or format) whose value occurs verbatim in the text as
whole words is replaced, in the text and in the target alike, by a new value of as many words:
a multi-word value gets a first word drawn from the first words of that field's multi-word
values in the data and other words from their other words; a one-word value gets a one-word
value or an inner word. The result has names that never repeat, so the only way to get them
right is to copy them. Half the multi-word ones also get a lower-case connector ("by", "of",
"and", ...) between two of their words: names such as "Express by Holiday Inn" or "Bank of
America" have one, a split whose names never do (E2E's) teaches the tune to end a value at the
first lower-case word, and a verbatim value cut there ("Express") is wrong.

Enum fields get the same treatment where the text says the value itself: a string enum value
that occurs once in the text as whole words (ignoring case) and belongs to no other field is
swapped, in text and target, for another value of that enum drawn uniformly. A train split
whose documents almost never say one value (E2E's: 4 pubs in 4,299 records, against 396 in
the first 1,000 test documents) otherwise teaches the tune that the value does not exist.
Pure: no model, no I/O.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..prompt import compact_json
from .dataset import Pair
from .profile import free_string_fields, occurs, string_enum_fields, word_pattern

CONNECTORS = ("by", "of", "and", "on", "at", "de", "upon", "&")
"""Lower-case words that join the words of a name."""
CONNECTOR_SHARE = 0.5
"""Share of multi-word synthetic values that get a connector."""


def synthesize_values(
    pairs: Sequence[Pair],
    decode_schema: Mapping[str, Any],
    share: float,
    seed: int = 0,
    *,
    fields: Sequence[str] | None = None,
    enums: Sequence[str] | None = None,
) -> list[Pair]:
    """``pairs`` with ``share`` of them (chosen with ``seed``) rewritten with synthetic values
    of the free-text ``fields`` and swapped values of the string ``enums`` (default: every
    eligible one); the others unchanged, order kept."""
    if share <= 0 or not pairs:
        return list(pairs)
    eligible = free_string_fields(decode_schema)
    fields = eligible if fields is None else [f for f in eligible if f in fields]
    swappable = enum_fields(decode_schema)
    enum_values = {
        f: vs for f, vs in swappable.items() if enums is None or f in enums
    }
    objects = [json.loads(p.target) for p in pairs]
    words = {f: _word_pools([o.get(f) for o in objects]) for f in fields}
    known = {f: {o.get(f) for o in objects} for f in fields}
    rng = random.Random(seed)
    chosen = set(rng.sample(range(len(pairs)), round(len(pairs) * min(1.0, share))))
    out = []
    for i, (pair, obj) in enumerate(zip(pairs, objects, strict=True)):
        if i not in chosen:
            out.append(pair)
            continue
        text = pair.text
        for f in fields:
            value = obj.get(f)
            if not isinstance(value, str) or not occurs(value, text):
                continue
            new = _synthetic(value, words[f], known[f], rng)
            if new is None or occurs(new, text):
                continue
            text = re.sub(word_pattern(value), new.replace("\\", "\\\\"), text)
            obj = {**obj, f: new}
        for f, values in enum_values.items():
            text, obj = _swap_enum(text, obj, f, values, rng)
        out.append(Pair(text=text, target=compact_json(obj), where=pair.where))
    return out


def enum_fields(decode_schema: Mapping[str, Any]) -> dict[str, list[str]]:
    """Top-level properties with a string enum (possibly nullable) of two or more values whose
    values belong to no other such property: field -> its string values."""
    found = string_enum_fields(decode_schema)
    shared = {v.lower() for f, vs in found.items() for g, ws in found.items() if f != g
              for v in vs if v.lower() in {w.lower() for w in ws}}
    return {f: vs for f, vs in found.items() if not {v.lower() for v in vs} & shared}


def _swap_enum(
    text: str, obj: dict[str, Any], field: str, values: list[str], rng: random.Random
) -> tuple[str, dict[str, Any]]:
    value = obj.get(field)
    if not isinstance(value, str) or value not in values:
        return text, obj
    pattern = re.compile(word_pattern(value), re.IGNORECASE)
    spots = list(pattern.finditer(text))
    if len(spots) != 1:
        return text, obj  # not said, or said twice: which one is the field's is unclear
    new = rng.choice(values)
    if new == value:
        return text, obj
    said = spots[0].group(0)
    shown = new[:1].upper() + new[1:] if said[:1].isupper() and not value[:1].isupper() else new
    text = text[: spots[0].start()] + shown + text[spots[0].end() :]
    return text, {**obj, field: new}


def _word_pools(values: Sequence[Any]) -> tuple[list[str], list[str], list[str]]:
    """(first words of multi-word values, their other words, one-word values and those)."""
    firsts: list[str] = []
    rest: list[str] = []
    singles: list[str] = []
    for v in values:
        w = v.split() if isinstance(v, str) else []
        if len(w) == 1:
            singles.append(w[0])
        elif w:
            firsts.append(w[0])
            rest.extend(w[1:])
    return firsts, rest, singles + rest


def _synthetic(
    value: str, pools: tuple[list[str], list[str], list[str]], known: set[Any], rng: random.Random
) -> str | None:
    firsts, rest, singles = pools
    n = len(value.split())
    if (n == 1 and not singles) or (n > 1 and not (firsts and rest)):
        return None
    for _ in range(20):
        if n == 1:
            new = rng.choice(singles)
        else:
            words = [rng.choice(firsts)] + [rng.choice(rest) for _ in range(n - 1)]
            if rng.random() < CONNECTOR_SHARE:
                words.insert(rng.randrange(1, n), rng.choice(CONNECTORS))
            new = " ".join(words)
        if new not in known and new != value:
            return new
    return None
