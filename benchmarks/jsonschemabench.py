"""Schema-coverage data and the instance check shared by ``schema_coverage.py`` and its test.

Loads JSONSchemaBench's MaskBench subset and the JSON-Schema-Test-Suite (draft 2020-12) from
``../shared/data`` (or ``$EXTRACTLY_DATA``) into ``Case`` objects, and asks a compiled
constraint whether it accepts a JSON instance. It does not compile schemas, time anything or
run the model.

The instance check feeds the compact serialization (what the decoder writes) to a fresh
llguidance matcher. llguidance emits an object's properties in the schema's ``properties``
order (merged over ``$ref`` / ``allOf`` / ``anyOf`` in document key order), so an instance whose
keys come in another order is rejected although its value is fine. The check therefore also
tries the instance with its keys in schema order (``in_schema_order``) and, if that is
rejected, in any key order a depth-first search guided by the matcher can find within a budget
(``_KeyOrderSearch``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llguidance

from benchmarks.datasets import data_dir
from extractly.constraint import CompiledConstraint
from extractly.json_schema import unescape

MASKBENCH = Path("jsonschemabench") / "maskbench_subset.jsonl"
TEST_SUITE = Path("json-schema-test-suite") / "draft2020-12.jsonl"
REMOTE_MARK = "http://localhost:1234"
SEARCH_BUDGET = 500
"""Most pieces the key-order search may feed per instance before it gives up. Valid instances
need a few dozen at most; it is invalid ones with many keys that would explore permutations."""


@dataclass(frozen=True)
class Instance:
    description: str
    valid: bool
    data: Any


@dataclass(frozen=True)
class Case:
    """One schema with its labelled test instances."""

    id: str
    split: str
    schema: Any
    instances: tuple[Instance, ...]


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _instances(tests: list[dict[str, Any]]) -> tuple[Instance, ...]:
    return tuple(
        Instance(str(t.get("description", "")), bool(t["valid"]), t["data"]) for t in tests
    )


def _per_split(cases: Iterator[Case], limit: int | None) -> list[Case]:
    counts: dict[str, int] = {}
    kept: list[Case] = []
    for case in cases:
        if limit is None or counts.get(case.split, 0) < limit:
            counts[case.split] = counts.get(case.split, 0) + 1
            kept.append(case)
    return kept


def load_maskbench(limit: int | None = None, root: Path | None = None) -> list[Case]:
    """MaskBench schemas in file order, at most ``limit`` per split."""
    rows = _read_jsonl((root or data_dir()) / MASKBENCH)
    cases = (Case(str(r["id"]), str(r["split"]), r["schema"], _instances(r["tests"])) for r in rows)
    return _per_split(cases, limit)


def has_remote_ref(schema: Any) -> bool:
    """True if ``schema`` points outside itself: ``localhost:1234`` or a ``$ref`` (or
    ``$dynamicRef``) that does not start with ``#``."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            is_ref = key in ("$ref", "$dynamicRef") and isinstance(value, str)
            if is_ref and not value.startswith("#"):
                return True
            if has_remote_ref(value):
                return True
        return False
    if isinstance(schema, list):
        return any(has_remote_ref(v) for v in schema)
    return isinstance(schema, str) and REMOTE_MARK in schema


def load_test_suite(limit: int | None = None, root: Path | None = None) -> list[Case]:
    """Test-suite groups without remote references; the split is the keyword file (``allOf``),
    at most ``limit`` groups per file."""
    rows = _read_jsonl((root or data_dir()) / TEST_SUITE)
    cases = (
        Case(
            f"{r['file']}: {r['description']}",
            str(r["file"]).removesuffix(".json"),
            r["schema"],
            _instances(r["tests"]),
        )
        for r in rows
        if not has_remote_ref(r["schema"])
    )
    return _per_split(cases, limit)


def compact(value: Any) -> str:
    """The serialization the constrained decoder writes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def tokenize(tokenizer: llguidance.LLTokenizer, text: str) -> list[int]:
    """``text`` as the model's tokenizer splits it, without special tokens.

    Gemma's vocabulary has user-defined tokens such as ``<html>`` that the tokenizer uses for
    plain text; extractly's llguidance view marks them special (never text), so the decoder
    spells such text with ordinary tokens. Text that tokenizes to one of them is split greedily
    over the ordinary tokens instead.
    """
    tokens = tokenizer.tokenize_str(text)
    if any(tokenizer.is_special_token(t) for t in tokens):
        return tokenizer.greedy_tokenize(text)
    return tokens


def grammar_accepts(
    compiled: CompiledConstraint, tokenizer: llguidance.LLTokenizer, text: str
) -> bool:
    """Does a fresh matcher consume all of ``text`` (as the tokenizer splits it) and accept?"""
    matcher = compiled.new_matcher()
    return matcher.consume_tokens(tokenize(tokenizer, text)) and matcher.is_accepting()


@dataclass(frozen=True)
class GrammarVerdict:
    as_given: bool
    """The instance's own key order is accepted."""
    schema_order: bool
    """The instance is accepted in schema key order (or, failing that, in some key order the
    matcher-guided search found)."""
    reordered: str | None = None
    """The accepted serialization, when it differs from the given one."""
    gave_up: bool = False
    """The key-order search hit its budget: ``schema_order`` is False for want of an order."""


def check_instance(
    compiled: CompiledConstraint,
    tokenizer: llguidance.LLTokenizer,
    value: Any,
    schema: Any = None,
) -> GrammarVerdict:
    """The grammar's verdict on ``value``, as given and in schema key order.

    ``schema`` is the schema the constraint was compiled from (the decode schema); without it
    only the matcher-guided search reorders keys. Raises ``UnicodeEncodeError`` for a value
    that has no UTF-8 serialization (lone surrogates).
    """
    text = compact(value)
    text.encode("utf-8")
    if grammar_accepts(compiled, tokenizer, text):
        return GrammarVerdict(True, True)
    if isinstance(schema, dict):
        reordered = compact(in_schema_order(value, schema))
        if reordered != text and grammar_accepts(compiled, tokenizer, reordered):
            return GrammarVerdict(False, True, reordered)
    search = _KeyOrderSearch(compiled, tokenizer, SEARCH_BUDGET)
    found = search.run(value)
    if found is None:
        return GrammarVerdict(False, False, gave_up=search.budget < 0)
    reordered = compact(found)
    if reordered == text:
        return GrammarVerdict(False, False)
    return GrammarVerdict(False, grammar_accepts(compiled, tokenizer, reordered), reordered)


# -- schema key order -------------------------------------------------------------------------

_MAX_DEPTH = 16


def _lookup(ref: str, root: dict[str, Any]) -> dict[str, Any]:
    """The target of a local ``$ref`` (``#/...``), one hop only (``extractly.json_schema.
    resolve_ref`` follows every hop, which would skip the ``properties`` beside a chained
    ``$ref``); ``{}`` for anything else."""
    if not ref.startswith("#"):
        return {}
    target: Any = root
    for part in [p for p in ref[1:].split("/") if p]:
        part = unescape(part)
        target = target.get(part) if isinstance(target, dict) else None
    return target if isinstance(target, dict) else {}


def _applicable(schema: Any, root: dict[str, Any], depth: int = 0) -> list[dict[str, Any]]:
    """``schema`` and the subschemas that apply to the same instance (``$ref``, ``allOf``,
    ``anyOf``, ``oneOf``), in document key order: llguidance merges their ``properties`` in
    that order (``{"$ref": A, "properties": P}`` puts A's properties before P's)."""
    node = schema if isinstance(schema, dict) else {}
    found: list[dict[str, Any]] = []
    for key, value in node.items() if depth < _MAX_DEPTH else ():
        if key == "properties":
            found.append(node)
        elif key == "$ref" and isinstance(value, str):
            found.extend(_applicable(_lookup(value, root), root, depth + 1))
        elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
            for sub in value:
                found.extend(_applicable(sub, root, depth + 1))
    if not any(n is node for n in found):
        found.insert(0, node)
    return found


def _child(nodes: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The schema for property ``key`` under ``nodes`` (an ``allOf`` when several apply)."""
    subs = [n["properties"][key] for n in nodes
            if isinstance(n.get("properties"), dict) and key in n["properties"]]
    for n in nodes:
        patterns = n.get("patternProperties")
        for pattern, sub in patterns.items() if isinstance(patterns, dict) else []:
            try:
                if re.search(pattern, key):
                    subs.append(sub)
            except re.error:
                continue
    if not subs:
        subs = [n["additionalProperties"] for n in nodes
                if isinstance(n.get("additionalProperties"), dict)]
    return subs[0] if len(subs) == 1 else {"allOf": subs}


def _item_schema(nodes: list[dict[str, Any]], index: int) -> dict[str, Any]:
    subs: list[Any] = []
    for n in nodes:
        prefix = n.get("prefixItems") if isinstance(n.get("prefixItems"), list) else n.get("items")
        if isinstance(prefix, list):
            if index < len(prefix):
                subs.append(prefix[index])
            elif isinstance(n.get("additionalItems"), dict):
                subs.append(n["additionalItems"])
            elif isinstance(n.get("items"), dict):
                subs.append(n["items"])
        elif isinstance(n.get("items"), dict):
            subs.append(n["items"])
    return subs[0] if len(subs) == 1 else {"allOf": subs}


def in_schema_order(value: Any, schema: Any, root: dict[str, Any] | None = None) -> Any:
    """``value`` with each object's keys in the order of its schema's ``properties`` (merged
    over ``$ref``, ``allOf``, ``anyOf`` and ``oneOf`` as llguidance merges them), others after
    them in their own order."""
    root = root if root is not None else schema if isinstance(schema, dict) else {}
    if not isinstance(value, dict | list):
        return value
    nodes = _applicable(schema, root)
    if isinstance(value, list):
        return [in_schema_order(v, _item_schema(nodes, i), root) for i, v in enumerate(value)]
    order: dict[str, None] = {}
    for n in nodes:
        if isinstance(n.get("properties"), dict):
            order.update(dict.fromkeys(k for k in n["properties"] if k in value))
    order.update(dict.fromkeys(value))
    return {k: in_schema_order(value[k], _child(nodes, k), root) for k in order}


# -- matcher-guided key order -----------------------------------------------------------------


_FAIL = object()


class _KeyOrderSearch:
    """Depth-first search for an object key order the matcher accepts.

    Pieces (``{``, ``"key":``, a scalar, ...) are tokenized one by one and fed to a single
    matcher, which is rolled back when a branch fails. Keys are tried in the instance's order,
    so an instance already in schema order costs one pass. Nested values keep the first order
    that works for them.
    """

    def __init__(
        self, compiled: CompiledConstraint, tokenizer: llguidance.LLTokenizer, budget: int
    ) -> None:
        self.matcher = compiled.new_matcher()
        self.tokenizer = tokenizer
        self.budget = budget
        self.consumed = 0

    def piece(self, text: str) -> bool:
        self.budget -= 1
        if self.budget < 0:
            return False
        tokens = _tokens(self.tokenizer, text)
        n = self.matcher.try_consume_tokens(tokens)
        self.consumed += n
        if n < len(tokens):
            self.rollback_to(self.consumed - n)
            return False
        return True

    def run(self, value: Any) -> Any | None:
        """``value`` with its keys in an accepted order, or ``None``."""
        found = self.value(value)
        return None if found is _FAIL or not self.matcher.is_accepting() else found

    def rollback_to(self, mark: int) -> None:
        if self.consumed > mark:
            self.matcher.rollback(self.consumed - mark)
            self.consumed = mark

    def value(self, value: Any) -> Any:
        """Feed ``value``; return it reordered, or ``_FAIL`` with the matcher rolled back."""
        mark = self.consumed
        if isinstance(value, dict):
            result = self.members(value, list(value), first=True) if self.piece("{") else None
            out: Any = _FAIL if result is None else dict(result)
        elif isinstance(value, list):
            out = self.items(value)
        else:
            out = value if self.piece(compact(value)) else _FAIL
        if out is _FAIL:
            self.rollback_to(mark)
        return out

    def members(
        self, obj: dict[str, Any], remaining: list[str], *, first: bool
    ) -> list[tuple[str, Any]] | None:
        if not remaining:
            return [] if self.piece("}") else None
        for key in remaining:
            mark = self.consumed
            if self.piece(("" if first else ",") + compact(key) + ":"):
                item = self.value(obj[key])
                if item is not _FAIL:
                    rest = self.members(obj, [k for k in remaining if k != key], first=False)
                    if rest is not None:
                        return [(key, item), *rest]
                self.rollback_to(mark)
            if self.budget < 0:
                return None
        return None

    def items(self, values: list[Any]) -> Any:
        out: list[Any] = []
        if not self.piece("["):
            return _FAIL
        for i, item in enumerate(values):
            if i and not self.piece(","):
                return _FAIL
            fed = self.value(item)
            if fed is _FAIL:
                return _FAIL
            out.append(fed)
        return out if self.piece("]") else _FAIL


_token_cache: dict[tuple[int, str], list[int]] = {}


def _tokens(tokenizer: llguidance.LLTokenizer, text: str) -> list[int]:
    """``tokenize_str`` with a cache: the search feeds the same small pieces over and over."""
    key = (id(tokenizer), text)
    tokens = _token_cache.get(key)
    if tokens is None:
        if len(_token_cache) > 200_000:
            _token_cache.clear()
        tokens = _token_cache[key] = tokenize(tokenizer, text)
    return tokens
