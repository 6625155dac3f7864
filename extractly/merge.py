"""Merge the objects extracted from the chunks of one long document into one object. Pure.

Each chunk gave a JSON value (as decoded: every key present, ``null`` for "not found") and a
per-field confidence keyed by JSON Pointer. The merge, recursively:

- **objects** are merged key by key (keys in order of first appearance);
- **lists** are concatenated in chunk order, dropping an item equal to an earlier one after
  normalization (strings lower-cased, whitespace collapsed, at any depth);
- **anything else** (strings, numbers, booleans, and values whose type differs between chunks)
  is taken from one chunk, ranked by: non-null beats null; for strings, a value that occurs in
  its chunk's text (after normalization) beats one that does not (a small model copies values
  from its few-shot examples or invents them; those are not in the text); then the highest
  confidence for that field; ties go to the earliest chunk. ``null`` counts as absent
  wherever another chunk has a value, so an object found in one chunk is not hidden by a
  ``null`` from another.

The result records, for every leaf of the merged value, the chunk it came from (``origin``,
used to look for its source span inside that chunk first) and that chunk's confidence for it.
``trim_list`` cuts a merged list to a length limit (a schema's ``maxItems``), keeping the most
confident items.

Not here: validation against the schema (the caller does that, then trims), spans, decoding.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .json_schema import escape, join_pointer
from .spans import normalize


@dataclass(frozen=True)
class ChunkValue:
    """What one chunk gave."""

    value: Any
    """JSON data as decoded (absent optional fields as ``null``)."""
    confidence: Mapping[str, float]
    """Per-leaf confidence by JSON Pointer (``Extraction.field_confidence``)."""
    text: str = ""
    """The chunk's text, to tell copied strings from invented ones."""


@dataclass
class Merged:
    value: Any
    origin: dict[str, int] = field(default_factory=dict)
    """Leaf JSON Pointer -> index of the chunk the leaf was taken from."""
    confidence: dict[str, float] = field(default_factory=dict)
    """Leaf JSON Pointer -> its confidence in that chunk."""


def merge_chunks(chunks: Sequence[ChunkValue]) -> Merged:
    """Merge the chunks' values into one (see the module docstring for the rules)."""
    if not chunks:
        raise ValueError("nothing to merge: no chunk produced a value")
    out = Merged(value=None)
    folded = [normalize(c.text) for c in chunks]
    out.value = _merge(chunks, folded, [(i, "", c.value) for i, c in enumerate(chunks)], "", out)
    return out


Candidate = tuple[int, str, Any]
"""(chunk index, the value's pointer in that chunk, the value)."""


def _merge(
    chunks: Sequence[ChunkValue],
    folded: Sequence[str],
    candidates: list[Candidate],
    pointer: str,
    out: Merged,
) -> Any:
    present = [c for c in candidates if c[2] is not None]
    if present and all(isinstance(c[2], dict) for c in present):
        merged: dict[str, Any] = {}
        for key in dict.fromkeys(k for c in present for k in c[2]):
            step = "/" + escape(key)
            children = [(i, p + step, v[key]) for i, p, v in present if key in v]
            merged[key] = _merge(chunks, folded, children, pointer + step, out)
        return merged
    if present and all(isinstance(c[2], list) for c in present):
        items: list[Any] = []
        seen: set[str] = set()
        for i, p, values in present:
            for index, item in enumerate(values):
                key = _dedup_key(item)
                if key in seen:
                    continue
                seen.add(key)
                _adopt(chunks[i], i, f"{p}/{index}", f"{pointer}/{len(items)}", item, out)
                items.append(item)
        if not items:  # every chunk said []: the empty list is itself a leaf
            _adopt(chunks[present[0][0]], present[0][0], present[0][1], pointer, [], out)
        return items
    pool = present or candidates
    best = max(
        pool,
        key=lambda c: (
            _grounded(c[2], folded[c[0]]),
            subtree_confidence(chunks[c[0]].confidence, c[1]),
            -c[0],
        ),
    )
    _adopt(chunks[best[0]], best[0], best[1], pointer, best[2], out)
    return best[2]


def _grounded(value: Any, folded_text: str) -> bool:
    if not isinstance(value, str):
        return True
    needle = normalize(value)
    return bool(needle) and needle in folded_text


def _dedup_key(value: Any) -> str:
    def fold(v: Any) -> Any:
        if isinstance(v, str):
            return normalize(v)
        if isinstance(v, dict):
            return {k: fold(x) for k, x in v.items()}
        if isinstance(v, list):
            return [fold(x) for x in v]
        return v

    return json.dumps(fold(value), sort_keys=True)


def subtree_confidence(confidence: Mapping[str, float], pointer: str) -> float:
    """The lowest confidence of any leaf at or under ``pointer`` (1.0 if none is recorded)."""
    prefix = pointer + "/"
    return min(
        (c for p, c in confidence.items() if p == pointer or p.startswith(prefix)), default=1.0
    )


def _adopt(chunk: ChunkValue, index: int, old: str, new: str, value: Any, out: Merged) -> None:
    """Record that the subtree ``value`` at ``new`` comes from chunk ``index`` (at ``old``)."""
    for leaf in _leaf_pointers(value, ""):
        out.origin[new + leaf] = index
        if old + leaf in chunk.confidence:
            out.confidence[new + leaf] = chunk.confidence[old + leaf]


def _leaf_pointers(value: Any, pointer: str) -> list[str]:
    if isinstance(value, dict) and value:
        return [
            p
            for k, v in value.items()
            for p in _leaf_pointers(v, f"{pointer}/{escape(k)}")
        ]
    if isinstance(value, list) and value:
        return [p for i, v in enumerate(value) for p in _leaf_pointers(v, f"{pointer}/{i}")]
    return [pointer]


def trim_list(merged: Merged, path: Sequence[str | int], limit: int) -> int:
    """Cut the list at ``path`` (keys and indexes from the root) to ``limit`` items, keeping the
    most confident ones (ties: the earlier), in their original order. Returns how many items
    were dropped."""
    target: Any = merged.value
    for step in path:
        target = target[step]
    if not isinstance(target, list) or len(target) <= limit:
        return 0
    pointer = join_pointer(path)
    ranked = sorted(
        range(len(target)),
        key=lambda i: (-subtree_confidence(merged.confidence, f"{pointer}/{i}"), i),
    )
    kept = sorted(ranked[: max(0, limit)])
    renumber = {old: new for new, old in enumerate(kept)}
    dropped = len(target) - len(kept)
    target[:] = [target[i] for i in kept]
    for table in (merged.origin, merged.confidence):
        moved: dict[str, Any] = {}
        for key in [k for k in table if k.startswith(pointer + "/")]:
            head, _, rest = key[len(pointer) + 1 :].partition("/")
            value = table.pop(key)
            if head.isdigit() and int(head) in renumber:
                moved[f"{pointer}/{renumber[int(head)]}" + (f"/{rest}" if rest else "")] = value
        table.update(moved)
    return dropped
