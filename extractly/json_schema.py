"""JSON Schema and JSON Pointer helpers shared by the whole package. Pure.

- JSON Pointer (RFC 6901): ``escape`` / ``unescape`` one reference token (``~`` is written
  ``~0`` and ``/`` is written ``~1``), and ``join_pointer`` builds a pointer from keys and list
  indexes. Every pointer extractly produces (``Extraction.field_confidence``, ``spans``, the
  merge of long documents, schema paths in errors) is built with these.
- JSON Schema: ``walk`` visits every object sub-schema with its pointer, ``resolve_ref`` follows
  local ``$ref``s, ``allows_null`` says whether a schema obviously admits ``null`` and
  ``describe_path`` turns a schema pointer into a field path a user recognizes.

This module imports nothing from extractly. Not here: loading a user's schema, safeguards or
fingerprints (``extractly.schema``), validation (``extractly.validate``), remote ``$ref``s
(``http://...``), ``$anchor`` or ``$id`` based references: those are never followed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

JSON = dict[str, Any]

MAX_REF_HOPS = 32
"""``resolve_ref`` gives up on a chain of references longer than this (a cycle)."""


def escape(token: str) -> str:
    """One JSON Pointer reference token: ``~`` -> ``~0``, ``/`` -> ``~1`` (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    """The key a JSON Pointer reference token names: ``~1`` -> ``/``, then ``~0`` -> ``~``."""
    return token.replace("~1", "/").replace("~0", "~")


def join_pointer(parts: Iterable[str | int]) -> str:
    """The JSON Pointer of ``parts`` (keys and list indexes from the root); ``""`` for none."""
    return "".join("/" + escape(str(part)) for part in parts)


def allows_null(schema: Any) -> bool:
    """True if ``schema`` obviously admits ``null`` (without resolving references)."""
    if schema is True or schema == {}:
        return True
    if not isinstance(schema, Mapping):
        return False
    t = schema.get("type")
    if t == "null" or (isinstance(t, list) and "null" in t):
        return True
    if "const" in schema and schema["const"] is None:
        return True
    if "enum" in schema and None in schema["enum"]:
        return True
    return any(allows_null(s) for s in schema.get("anyOf", []) + schema.get("oneOf", []))


_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_SINGLE = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "additionalItems",
)


def walk(schema: Any, path: str = "") -> Iterator[tuple[str, JSON]]:
    """Yield ``(json_pointer, subschema)`` for every object sub-schema, depth first."""
    if not isinstance(schema, dict):
        return
    yield path, schema
    for key in _SUBSCHEMA_MAPS:
        sub = schema.get(key)
        if isinstance(sub, dict):
            for name, s in sub.items():
                yield from walk(s, f"{path}/{key}/{escape(name)}")
    for key in _SUBSCHEMA_LISTS:
        sub = schema.get(key)
        if isinstance(sub, list):
            for i, s in enumerate(sub):
                yield from walk(s, f"{path}/{key}/{i}")
    for key in _SUBSCHEMA_SINGLE:
        if key in schema:
            yield from walk(schema[key], f"{path}/{key}")


def describe_path(pointer: str) -> str:
    """Turn a JSON pointer into the field path a user recognizes, e.g. ``guests[].name``."""
    parts = [unescape(p) for p in pointer.split("/")[1:]]
    out: list[str] = []
    i = 0
    while i < len(parts):
        part = parts[i]
        if part in ("properties", "$defs", "definitions") and i + 1 < len(parts):
            out.append(("#" if part != "properties" else "") + parts[i + 1])
            i += 2
            continue
        if part == "items":
            out.append("[]")
        elif part in ("anyOf", "oneOf", "allOf", "prefixItems") and i + 1 < len(parts):
            out.append(f"<{part}[{parts[i + 1]}]>")
            i += 2
            continue
        else:
            out.append(f"<{part}>")
        i += 1
    text = ".".join(out).replace(".[]", "[]")
    return text or "<root>"


def resolve_ref(schema: Any, root: Mapping[str, Any]) -> Mapping[str, Any]:
    """``schema`` with local ``$ref``s followed.

    ``{}`` when a reference points nowhere (a missing key, a fragment that is not a JSON
    Pointer such as ``#anchor``) or at something that is not an object schema. A remote
    reference, or a cycle (more than ``MAX_REF_HOPS`` hops), stops the walk there: the result
    still holds a ``$ref``.
    """
    for _ in range(MAX_REF_HOPS):
        if not isinstance(schema, Mapping) or not isinstance(schema.get("$ref"), str):
            break
        ref: str = schema["$ref"]
        if not ref.startswith("#"):
            break
        if ref != "#" and not ref.startswith("#/"):
            return {}
        target: Any = root
        for part in ref[2:].split("/") if ref != "#" else []:
            part = unescape(part)
            if not isinstance(target, Mapping) or part not in target:
                return {}
            target = target[part]
        schema = target
    return schema if isinstance(schema, Mapping) else {}
