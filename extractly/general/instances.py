"""Random valid instances of a JSON Schema, with values that read like real ones.

``sample_instance(schema, rng)`` walks the schema: local ``$ref`` (``#/$defs/...``,
``#/definitions/...``), ``allOf`` of objects (merged), ``anyOf`` / ``oneOf`` (a non-null branch
most of the time), ``enum``, ``const``, type lists, objects (required properties always,
optional ones present with ``1 - absent``), arrays (``minItems``..``maxItems``, at most
``MAX_ITEMS`` unless more are required; no repeated item while others can be drawn), strings
(by field name: ``vocab.kind_of``; formats ``date``, ``date-time``, ``time``, ``email``,
``uri``, ``uuid``; length bounds), integers and numbers (bounds, exclusive bounds,
``multipleOf``), booleans and null.

Every instance is checked with ``jsonschema`` before it is returned; a schema whose instances
keep failing (a ``pattern``, ``not``, ``if``/``then``, ``dependentRequired``, remote ``$ref``...)
raises ``UnsupportedSchemaError`` naming the reason instead of returning a wrong instance.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Mapping
from typing import Any

import jsonschema

from . import vocab

MAX_ITEMS = 4
SHALLOW = 4
"""Below this many schema levels only required properties and ``minItems`` items are drawn, so
recursive schemas (a tree of nodes) give small instances."""
"""Array length drawn from ``minItems``..``min(maxItems, max(minItems, MAX_ITEMS))``."""
ATTEMPTS = 20
"""Instances drawn before a schema is declared unsupported."""
UNSUPPORTED = ("pattern", "patternProperties", "not", "if", "dependentRequired",
               "dependentSchemas", "dependencies", "contains", "propertyNames")
"""Keywords this sampler does not try to satisfy; a schema using them is refused up front."""


class UnsupportedSchemaError(ValueError):
    """The sampler cannot produce valid instances of this schema."""


def sample_instance(schema: Mapping[str, Any], rng: random.Random, *,
                    absent: float = 0.3) -> Any:
    """A valid instance of ``schema``: optional properties are left out with probability
    ``absent`` (the text rendered from it will not mention them)."""
    used = sorted(_keywords(schema) & set(UNSUPPORTED))
    if used:
        raise UnsupportedSchemaError(f"uses {', '.join(used)}, which the sampler does not "
                                     "satisfy")
    validator = jsonschema.Draft202012Validator(schema)
    error = "no attempt"
    for _ in range(ATTEMPTS):
        try:
            value = _Sampler(schema, rng, absent).sample(schema, "", 0)
            problem = next(iter(validator.iter_errors(value)), None)
        except RecursionError:
            raise UnsupportedSchemaError("recursive schema too deep to sample") from None
        if problem is None:
            return value
        error = problem.message
    raise UnsupportedSchemaError(f"no valid instance in {ATTEMPTS} attempts: {error}")


def _keywords(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, Mapping):
        for key, sub in node.items():
            if key in ("properties", "$defs", "definitions"):
                if isinstance(sub, Mapping):
                    for child in sub.values():
                        found |= _keywords(child)
                continue
            if key in ("enum", "const", "examples", "default"):
                continue
            found.add(key)
            found |= _keywords(sub)
    elif isinstance(node, list):
        for item in node:
            found |= _keywords(item)
    return found


class _Sampler:
    def __init__(self, root: Mapping[str, Any], rng: random.Random, absent: float) -> None:
        self.root, self.rng, self.absent = root, rng, absent

    def sample(self, node: Any, name: str, depth: int) -> Any:
        if depth > 12:
            raise UnsupportedSchemaError("schema nests deeper than 12 levels")
        if node is True or node == {}:
            return self._string(name, {})
        if not isinstance(node, Mapping):
            raise UnsupportedSchemaError(f"unexpected schema node {node!r}")
        if "$ref" in node:
            return self.sample(self._resolve(node["$ref"]), name, depth + 1)
        combined = self._combined(node)
        if combined is not None:
            return self.sample(combined, name, depth + 1)
        if "const" in node:
            return node["const"]
        if "enum" in node:
            return self.rng.choice(list(node["enum"]))
        kind = node.get("type")
        if isinstance(kind, list):
            real = [k for k in kind if k != "null"]
            kind = self.rng.choice(real) if real else "null"
        if kind is None:
            kind = ("object" if "properties" in node else "array" if "items" in node
                    else "string")
        if kind == "object":
            return self._object(name, node, depth)
        if kind == "array":
            return self._array(name, node, depth)
        return getattr(self, f"_{kind}")(name, node)

    def _combined(self, node: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """``allOf`` merged, or one branch of ``anyOf`` / ``oneOf`` (a non-null one 95% of
        the time) merged with the node's other keywords; ``None`` for a plain node."""
        if "allOf" in node:
            return _merge(node, [self._deref(s) for s in node["allOf"]])
        for key in ("anyOf", "oneOf"):
            if key in node:
                branches = [b for b in node[key] if self._deref(b).get("type") != "null"]
                pick = (self.rng.choice(branches) if branches and self.rng.random() > 0.05
                        else self.rng.choice(node[key]))
                return _merge({k: v for k, v in node.items() if k != key}, [self._deref(pick)])
        return None

    def _resolve(self, ref: str) -> Mapping[str, Any]:
        if not ref.startswith("#"):
            raise UnsupportedSchemaError(f"remote $ref {ref!r}")
        node: Any = self.root
        for part in filter(None, ref[1:].split("/")):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or part not in node:
                raise UnsupportedSchemaError(f"$ref {ref!r} points nowhere")
            node = node[part]
        return node  # type: ignore[no-any-return]

    def _deref(self, node: Any) -> Mapping[str, Any]:
        while isinstance(node, Mapping) and "$ref" in node and len(node) == 1:
            node = self._resolve(node["$ref"])
        return node if isinstance(node, Mapping) else {}

    def _object(self, name: str, node: Mapping[str, Any], depth: int) -> dict[str, Any]:
        props: Mapping[str, Any] = node.get("properties") or {}
        required = set(node.get("required") or [])
        out: dict[str, Any] = {}
        what = str(node.get("title") or name)
        for key, sub in props.items():
            if key in required or (depth < SHALLOW and self.rng.random() >= self.absent):
                out[key] = self.sample(sub, vocab.qualified(key, what), depth + 1)
        for key in sorted(required - set(props)):
            out[key] = self._string(key, {})
        low = int(node.get("minProperties", 0))
        for key, sub in props.items():
            if len(out) >= low:
                break
            out.setdefault(key, self.sample(sub, vocab.qualified(key, what), depth + 1))
        return out

    def _array(self, name: str, node: Mapping[str, Any], depth: int) -> list[Any]:
        low = int(node.get("minItems", 0))
        high = int(node.get("maxItems", max(low, MAX_ITEMS)))
        count = self.rng.randint(low, max(low, min(high, max(low, MAX_ITEMS))))
        if depth >= SHALLOW:
            count = low
        items = node.get("items", {})
        prefix = list(node.get("prefixItems") or (items if isinstance(items, list) else []))
        if isinstance(items, list):
            items = node.get("additionalItems", {})
        out: list[Any] = []
        for i in range(count * 3):
            if len(out) == count:
                break
            sub = prefix[i] if i < len(prefix) else items
            value = self.sample(sub, name, depth + 1)
            if value in out and i < count * 3 - 1:  # repeats read oddly; retry a few times
                continue
            out.append(value)
        return out

    def _string(self, name: str, node: Mapping[str, Any]) -> str:
        fmt = node.get("format")
        value = self._formatted(fmt) if fmt else self._named(name)
        low, high = int(node.get("minLength", 0)), node.get("maxLength")
        if high is not None and len(value) > int(high):
            value = value[: int(high)].rstrip() or value[: int(high)]
        while len(value) < low:
            value += " " + self.rng.choice(vocab.WORDS)
        return value[: int(high)] if high is not None else value

    def _formatted(self, fmt: str) -> str:
        rng = self.rng
        day = datetime.date(2015, 1, 1) + datetime.timedelta(days=rng.randrange(4000))
        if fmt == "date":
            return day.isoformat()
        if fmt == "date-time":
            minute = rng.choice((0, 15, 30, 45))
            return f"{day.isoformat()}T{rng.randrange(24):02d}:{minute:02d}:00Z"
        if fmt == "time":
            return f"{rng.randrange(24):02d}:{rng.choice((0, 15, 30, 45)):02d}:00"
        if fmt == "email":
            return self._named("email")
        if fmt in ("uri", "url", "iri"):
            return self._named("url")
        if fmt == "uuid":
            hexes = "".join(rng.choice("0123456789abcdef") for _ in range(32))
            return "-".join((hexes[:8], hexes[8:12], hexes[12:16], hexes[16:20], hexes[20:]))
        return self._named("")

    def _named(self, name: str) -> str:
        return vocab.value_for(vocab.kind_of(name), self.rng)

    def _integer(self, name: str, node: Mapping[str, Any]) -> int:
        bounds = _bounds(node, integer=True)
        low, high = int(bounds[0]), int(bounds[1])
        step = node.get("multipleOf")
        if isinstance(step, int) and step > 0:
            first = -(-low // step) * step
            return first + step * self.rng.randint(0, max(0, (high - first) // step))
        # small numbers are the common case in text: counts, years, minutes
        if high - low > 200 and self.rng.random() < 0.7:
            return self.rng.randint(max(low, 0) if high > 0 else low, min(high, max(low, 0) + 120))
        return self.rng.randint(low, high)

    def _number(self, name: str, node: Mapping[str, Any]) -> float | int:
        low, high = _bounds(node, integer=False)
        if isinstance(node.get("multipleOf"), (int, float)) and node["multipleOf"] > 0:
            step = float(node["multipleOf"])
            count = int((high - low) // step)
            return round(-(-low // step) * step + step * self.rng.randint(0, max(0, count)), 10)
        value = round(self.rng.uniform(low, min(high, low + 1000)), self.rng.choice((0, 1, 2)))
        return int(value) if value == int(value) and self.rng.random() < 0.5 else value

    def _boolean(self, name: str, node: Mapping[str, Any]) -> bool:
        return self.rng.random() < 0.5

    def _null(self, name: str, node: Mapping[str, Any]) -> None:
        return None


def _bounds(node: Mapping[str, Any], *, integer: bool) -> tuple[float, float]:
    low = float(node.get("minimum", 0 if node.get("maximum", 1) >= 0
                         else node["maximum"] - 1000))
    high = float(node.get("maximum", low + 10_000))
    if "exclusiveMinimum" in node:
        low = max(low, node["exclusiveMinimum"] + (1 if integer else 1e-6))
    if "exclusiveMaximum" in node:
        high = min(high, node["exclusiveMaximum"] - (1 if integer else 1e-6))
    if integer:
        low, high = float(-(-low // 1)), float(high // 1)
    if low > high:
        raise UnsupportedSchemaError(f"empty range {low}..{high}")
    return low, high


def _merge(node: Mapping[str, Any], parts: list[Mapping[str, Any]]) -> dict[str, Any]:
    out = {k: v for k, v in node.items() if k != "allOf"}
    for part in parts:
        for key, value in part.items():
            if key == "properties":
                out["properties"] = {**out.get("properties", {}), **value}
            elif key == "required":
                out["required"] = sorted(set(out.get("required", [])) | set(value))
            else:
                out.setdefault(key, value)
    return out
