"""Look at training pairs before a tune: what the data says about each field. Pure: no model.

``profile_pairs(pairs, decode_schema)`` measures, per top-level field:

- **free strings** (no enum, const, pattern or format): the share of gold values found in their
  text as a run of whole words (``verbatim_share``, the test the verbatim constraint applies),
  the number of distinct values, and ``unseen_share``: the Good-Turing estimate of how often the
  next text would name a value the data never showed (values seen once / values), i.e. how well
  the data teaches copying names it did not list;
- **string enums**: how often each value occurs, and how often the value is said in the text;
- **every field**: how often it is null.

It also finds duplicate pairs (same text, same output) and contradictory ones (same text,
different outputs). ``plan.py`` turns these findings into tune settings; this module decides
nothing.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .dataset import Pair

FieldKind = Literal["free", "enum", "other"]


@dataclass(frozen=True)
class FieldProfile:
    name: str
    kind: FieldKind
    present: int
    """Pairs where the field is not null."""
    null_share: float
    distinct: int
    """Distinct non-null values."""
    verbatim_share: float | None = None
    """Free strings: share of non-null values found in their text as whole words."""
    unseen_share: float | None = None
    """Free strings: values seen exactly once / non-null values (Good-Turing: the chance that
    a new text names a value the data never showed)."""
    capitalized_share: float | None = None
    """Free strings: share of non-null values starting with a capital letter (names)."""
    value_counts: dict[str, int] = field(default_factory=dict)
    """String enums: occurrences of every allowed value (0 for values never seen)."""
    said_share: float | None = None
    """String enums: share of non-null values said once in their text (what an enum swap can
    rewrite)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "present": self.present,
            "null_share": round(self.null_share, 4),
            "distinct": self.distinct,
        }
        if self.verbatim_share is not None:
            out["verbatim_share"] = round(self.verbatim_share, 4)
        if self.unseen_share is not None:
            out["unseen_share"] = round(self.unseen_share, 4)
        if self.capitalized_share is not None:
            out["capitalized_share"] = round(self.capitalized_share, 4)
        if self.value_counts:
            out["value_counts"] = dict(self.value_counts)
        if self.said_share is not None:
            out["said_share"] = round(self.said_share, 4)
        return out


@dataclass(frozen=True)
class DataProfile:
    pairs: int
    fields: dict[str, FieldProfile]
    duplicates: list[list[str]]
    """Groups of identical pairs (text and output), by where they are (``file:line``)."""
    contradictions: list[list[str]]
    """Groups of pairs with the same text and different outputs."""

    def to_json(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "fields": {name: f.to_json() for name, f in self.fields.items()},
            "duplicates": self.duplicates,
            "contradictions": self.contradictions,
        }


def profile_pairs(pairs: Sequence[Pair], decode_schema: Mapping[str, Any]) -> DataProfile:
    """The findings for ``pairs`` (targets are compact JSON of ``decode_schema``'s objects)."""
    objects = [json.loads(p.target) for p in pairs]
    objects = [o if isinstance(o, dict) else {} for o in objects]
    free = set(free_string_fields(decode_schema))
    enums = string_enum_fields(decode_schema)
    found: dict[str, FieldProfile] = {}
    for name in (decode_schema.get("properties") or {}):
        values = [o.get(name) for o in objects]
        present = [v for v in values if v is not None]
        null_share = 1 - len(present) / len(values) if values else 0.0
        distinct = len({json.dumps(v, sort_keys=True) for v in present})
        if name in free:
            texts = [p.text for p, v in zip(pairs, values, strict=True) if isinstance(v, str)]
            strings = [v for v in values if isinstance(v, str)]
            copied = sum(occurs(v, t) for v, t in zip(strings, texts, strict=True))
            counts = Counter(strings)
            once = sum(1 for c in counts.values() if c == 1)
            found[name] = FieldProfile(
                name, "free", len(present), null_share, distinct,
                verbatim_share=copied / len(strings) if strings else None,
                unseen_share=once / len(strings) if strings else None,
                capitalized_share=(
                    sum(v[:1].isupper() for v in strings) / len(strings) if strings else None
                ),
            )
        elif name in enums:
            counts = Counter(v for v in present if isinstance(v, str))
            said = sum(
                said_once(v, p.text)
                for p, v in zip(pairs, values, strict=True)
                if isinstance(v, str)
            )
            found[name] = FieldProfile(
                name, "enum", len(present), null_share, distinct,
                value_counts={v: counts.get(v, 0) for v in enums[name]},
                said_share=said / len(present) if present else None,
            )
        else:
            found[name] = FieldProfile(name, "other", len(present), null_share, distinct)
    duplicates, contradictions = _repeats(pairs)
    return DataProfile(len(pairs), found, duplicates, contradictions)


def _repeats(pairs: Sequence[Pair]) -> tuple[list[list[str]], list[list[str]]]:
    by_text: dict[str, list[int]] = {}
    for i, p in enumerate(pairs):
        by_text.setdefault(" ".join(p.text.split()), []).append(i)
    duplicates: list[list[str]] = []
    contradictions: list[list[str]] = []
    for group in by_text.values():
        if len(group) < 2:
            continue
        outputs: dict[str, list[int]] = {}
        for i in group:
            outputs.setdefault(pairs[i].target, []).append(i)
        duplicates.extend([[_where(pairs, i) for i in same] for same in outputs.values()
                           if len(same) > 1])
        if len(outputs) > 1:
            contradictions.append([_where(pairs, i) for i in group])
    return duplicates, contradictions


def _where(pairs: Sequence[Pair], i: int) -> str:
    return pairs[i].where or f"pair {i + 1}"


def drop_duplicates(pairs: Sequence[Pair]) -> list[Pair]:
    """``pairs`` with every repeat of an identical (text, output) pair removed, order kept."""
    seen: set[tuple[str, str]] = set()
    out = []
    for p in pairs:
        key = (" ".join(p.text.split()), p.target)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def free_string_fields(decode_schema: Mapping[str, Any]) -> list[str]:
    """Top-level properties whose value is free text (possibly nullable)."""
    out = []
    for name, sub in (decode_schema.get("properties") or {}).items():
        options = sub.get("anyOf", [sub]) if isinstance(sub, Mapping) else []
        strings = [o for o in options if isinstance(o, Mapping) and _is_string(o.get("type"))]
        if len(strings) != 1 or any(isinstance(o, Mapping) and "enum" in o for o in options):
            continue
        if any(k in strings[0] for k in ("enum", "const", "pattern", "format")):
            continue
        out.append(name)
    return out


def _is_string(kind: Any) -> bool:
    """``type`` is ``"string"`` or ``["string", "null"]``."""
    if isinstance(kind, list):
        return "string" in kind and set(kind) <= {"string", "null"}
    return bool(kind == "string")


def string_enum_fields(decode_schema: Mapping[str, Any]) -> dict[str, list[str]]:
    """Top-level properties with a string enum (possibly nullable) of two or more values:
    field -> its string values."""
    found: dict[str, list[str]] = {}
    for name, sub in (decode_schema.get("properties") or {}).items():
        options = sub.get("anyOf", [sub]) if isinstance(sub, Mapping) else []
        values = [
            v for o in options if isinstance(o, Mapping) for v in o.get("enum", [])
            if isinstance(v, str) and v.strip()
        ]
        if len(values) >= 2:
            found[name] = values
    return found


def word_pattern(value: str) -> str:
    """``value`` as a regular expression matching it as whole words."""
    return r"(?<!\w)" + re.escape(value) + r"(?!\w)"


def occurs(value: str, text: str) -> bool:
    """``value`` is in ``text`` as a run of whole words (what a verbatim field can hold)."""
    return bool(value.strip()) and re.search(word_pattern(value), text) is not None


def said_once(value: str, text: str) -> bool:
    """``value`` occurs exactly once in ``text`` as whole words, ignoring case."""
    return len(re.findall(word_pattern(value), text, re.IGNORECASE)) == 1
