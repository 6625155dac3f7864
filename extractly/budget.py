"""Derive a generous ``max_tokens`` from a decode schema. Pure.

The estimate assumes natural text (about three characters per token) for strings and
counts keys, punctuation and list items. It is a cap against run-away output, not a promise:
an output that reaches it is reported as truncated (``TruncatedOutputError``), never cut silently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .json_schema import resolve_ref

UNBOUNDED_DEFAULT = 1024
FLOOR = 32
CEILING = 4096

_FORMAT_CHARS = {
    "date": 10,
    "time": 24,
    "date-time": 35,
    "uuid": 36,
    "ipv4": 15,
    "ipv6": 45,
    "email": 96,
    "uri": 256,
    "hostname": 96,
    "duration": 32,
}


def max_output_tokens(schema: Mapping[str, Any]) -> int:
    estimate = _tokens(schema, schema, depth=0)
    if estimate is None:
        return UNBOUNDED_DEFAULT
    return max(FLOOR, min(CEILING, estimate))


def _tokens(schema: Any, root: Mapping[str, Any], depth: int) -> int | None:
    if depth > 24 or not isinstance(schema, Mapping):
        return None
    if "$ref" in schema:
        target = resolve_ref(schema, root)
        if not target or "$ref" in target:
            return None  # points nowhere, remote or circular: unbounded
        return _tokens(target, root, depth + 1)
    if "const" in schema:
        return _literal(schema["const"])
    if "enum" in schema:
        return max((_literal(v) for v in schema["enum"]), default=2)
    branches = [b for k in ("anyOf", "oneOf") for b in schema.get(k, [])]
    if branches:
        sizes = [_tokens(b, root, depth + 1) for b in branches]
        return None if any(s is None for s in sizes) else max(s for s in sizes if s is not None)
    if schema.get("allOf"):
        sizes = [_tokens(b, root, depth + 1) for b in schema["allOf"]]
        known = [s for s in sizes if s is not None]
        return min(known) if known else None
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    sizes = [_by_type(t, schema, root, depth) for t in types]
    return None if any(s is None for s in sizes) else max(s for s in sizes if s is not None)


def _by_type(t: Any, schema: Mapping[str, Any], root: Mapping[str, Any], depth: int) -> int | None:
    if t == "string":
        if "maxLength" in schema:
            return int(schema["maxLength"]) // 3 + 4
        fmt = _FORMAT_CHARS.get(str(schema.get("format")))
        return fmt // 2 + 4 if fmt else None
    if t in ("integer", "number"):
        return 24
    if t in ("boolean", "null"):
        return 2
    if t == "array":
        if "maxItems" not in schema:
            return 2 if schema.get("maxItems") == 0 else None
        item = _tokens(schema.get("items", {}), root, depth + 1)
        return None if item is None else 2 + int(schema["maxItems"]) * (item + 1)
    if t == "object":
        if schema.get("additionalProperties", True) is not False:
            return None
        total = 2
        for name, prop in schema.get("properties", {}).items():
            value = _tokens(prop, root, depth + 1)
            if value is None:
                return None
            total += len(name) // 2 + 4 + value
        return total
    return None


def _literal(value: Any) -> int:
    return len(json.dumps(value)) // 2 + 3

