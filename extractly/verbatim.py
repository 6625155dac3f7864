"""Verbatim fields: string values the decoder may only copy from the document. Pure.

A field marked verbatim (``"x-extractly-verbatim": true`` on a top-level property, or the
Extractor option ``verbatim=``) can only hold a run of whole words of the document's text (or
``null`` where the schema allows it). The constraint enforces it token by token, so a tuned model
that would write "The Blue Spice" for a text that says "Blue Spice" writes "Blue Spice".

The decode schema is compiled by llguidance from JSON Schema; a verbatim constraint depends on
the document, so for schemas with verbatim fields this module writes a Lark grammar per
document instead: the root object's keys in schema order (every key present, compact
separators, exactly what the JSON compiler emits), each verbatim value a ``substring_words``
lexeme over the document's JSON-escaped text intersected with the field's length bounds, every
other value an inline ``%json`` of its own sub-schema.

Which fields can be verbatim: top-level properties whose schema is a free string (no enum,
const, pattern or format), optionally nullable (``type: [string, null]`` or an ``anyOf`` with
``null``). The root must be an object with all keys present (the ``all_keys_present``
safeguard, on by default). Anything else is refused with ``SchemaError`` naming the field.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import SchemaError
from .json_schema import resolve_ref
from .schema import SchemaSpec

_UNSUPPORTED_STRING_KEYS = ("enum", "const", "pattern", "format")
_NULL = '"null"'
_SOURCE = "\x00verbatim-source\x00"
"""Stands for the document's lexeme in a grammar template (never in a schema's JSON)."""


@dataclass(frozen=True)
class VerbatimField:
    name: str
    nullable: bool
    min_length: int
    max_length: int | None


def plan(decode_schema: Mapping[str, Any], names: Iterable[str]) -> tuple[VerbatimField, ...]:
    """Check that ``names`` can be verbatim in ``decode_schema``; their plan in schema order."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return ()
    props = decode_schema.get("properties")
    if decode_schema.get("type") != "object" or not isinstance(props, dict):
        raise SchemaError(
            "verbatim fields need an object schema with properties; this schema's root is not one"
        )
    missing = [n for n in wanted if n not in props]
    if missing:
        raise SchemaError(
            f"verbatim field(s) {missing} are not properties of the schema; "
            f"its properties are {list(props)}"
        )
    required = set(decode_schema.get("required", []))
    if set(props) - required or decode_schema.get("additionalProperties", True) is not False:
        raise SchemaError(
            "verbatim fields need every key present and no extra keys: keep the "
            "all_keys_present safeguard on (the default)"
        )
    fields = {}
    for name in wanted:
        fields[name] = _field(name, props[name], decode_schema)
    return tuple(fields[n] for n in props if n in fields)


def verbatim_fields(
    spec: SchemaSpec, option: Sequence[str] | bool | None, tuned: Sequence[str] = ()
) -> tuple[str, ...]:
    """The fields to copy from the text under the ``verbatim=`` option: ``True`` every
    top-level free string, ``False`` none, a list those plus the schema's markers, ``None``
    the markers and ``tuned`` (the fields an adapter was tuned to copy)."""
    if option is None:
        return tuple(dict.fromkeys([*spec.verbatim, *tuned]))
    if option is True:
        return free_string_properties(spec.decode_schema)
    if option is False:
        return ()
    if isinstance(option, str):
        raise TypeError(f"verbatim= takes a list of field names, not the string {option!r}")
    return tuple(dict.fromkeys([*spec.verbatim, *option]))


def free_string_properties(decode_schema: Mapping[str, Any]) -> tuple[str, ...]:
    """Top-level properties that could be verbatim (for ``verbatim=True``)."""
    props = decode_schema.get("properties")
    if not isinstance(props, dict):
        return ()
    names = []
    for name, prop in props.items():
        try:
            _field(name, prop, decode_schema)
        except SchemaError:
            continue
        names.append(name)
    return tuple(names)


def grammar_template(
    decode_schema: Mapping[str, Any],
    fields: tuple[VerbatimField, ...],
    options: Mapping[str, Any],
) -> str:
    """The Lark grammar that decodes ``decode_schema`` with ``fields`` copied from a text, with
    the text left out: ``grammar_for`` puts a document's in. Built once per constraint.

    ``options`` are llguidance's JSON options (separators, whitespace, lenient), applied to
    every inline ``%json`` value.
    """
    props: dict[str, Any] = dict(decode_schema["properties"])
    by_name = {f.name: f for f in fields}
    defs = {k: decode_schema[k] for k in ("$defs", "definitions") if k in decode_schema}
    item_sep = json.dumps(str(options.get("item_separator", ",")))
    key_sep = json.dumps(str(options.get("key_separator", ":")))
    rules: list[str] = []
    parts: list[str] = []
    for index, (name, prop) in enumerate(props.items()):
        rule = f"v{index}"
        if parts:
            parts.append(item_sep)
        parts.extend([_lark_string(json.dumps(name, ensure_ascii=False)), key_sep, rule])
        spec = by_name.get(name)
        if spec is None:
            if isinstance(prop, bool):
                sub: dict[str, Any] = {} if prop else {"not": {}}
            else:
                sub = copy.deepcopy(prop) if isinstance(prop, dict) else {"const": prop}
            sub.update(defs)
            sub["x-guidance"] = dict(options)
            rules.append(f"{rule}: %json {json.dumps(sub, ensure_ascii=False)}")
            continue
        terminal = f"V{index}"
        value = f'"\\"" {terminal} "\\""'
        rules.append(f"{rule}: {value} | {_NULL}" if spec.nullable else f"{rule}: {value}")
        upper = "" if spec.max_length is None else str(spec.max_length)
        rules.append(f"{terminal}: %regex {_SOURCE} & /.{{{max(1, spec.min_length)},{upper}}}/")
    start = 'start: "{" ' + " ".join(parts) + ' "}"'
    return "\n".join([start, *rules]) + "\n"


def grammar_for(template: str, text: str) -> str:
    """``template`` (from ``grammar_template``) with ``text`` as the source of every verbatim
    value: a ``substring_words`` lexeme over the text as it appears inside a JSON string."""
    source = json.dumps(text, ensure_ascii=False)[1:-1]
    lexeme = json.dumps({"substring_words": source}, ensure_ascii=False)
    return template.replace(_SOURCE, lexeme)


def check_copied(value: Any, fields: Iterable[str], text: str) -> str | None:
    """Why ``value`` breaks the verbatim rule for ``text`` (a field not copied), or ``None``.

    Used on answers that did not come from the constrained decoder (HTTP backends).
    """
    if not isinstance(value, Mapping):
        return None
    for name in fields:
        got = value.get(name)
        if isinstance(got, str) and got and got not in text:
            return (
                f"field {name!r} must be copied from the text, but {got!r:.80} does not "
                "occur in it"
            )
    return None


def _lark_string(json_literal: str) -> str:
    """A Lark string literal matching ``json_literal`` (a JSON string with its quotes)."""
    return json.dumps(json_literal, ensure_ascii=False)


def _field(name: str, prop: Any, root: Mapping[str, Any]) -> VerbatimField:
    schema = resolve_ref(prop, root)
    nullable = False
    options = schema.get("anyOf") if isinstance(schema, dict) else None
    if isinstance(options, list):
        branches = [resolve_ref(o, root) for o in options]
        nulls = [b for b in branches if b.get("type") == "null"]
        others = [b for b in branches if b.get("type") != "null"]
        if len(others) != 1 or len(nulls) + len(others) != len(branches):
            raise _refuse(name, "its schema is a union other than string-or-null")
        nullable = bool(nulls)
        schema = others[0]
    types = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(types, list):
        nullable = nullable or "null" in types
        types = [t for t in types if t != "null"]
        types = types[0] if len(types) == 1 else types
    blocked = [k for k in _UNSUPPORTED_STRING_KEYS if k in schema]
    if blocked:
        raise _refuse(name, f"it has {blocked[0]!r}; only free strings can be copied")
    if types != "string":
        raise _refuse(name, "it is not a string")
    max_length = schema.get("maxLength")
    return VerbatimField(
        name=name,
        nullable=nullable,
        min_length=int(schema.get("minLength", 0)),
        max_length=None if max_length is None else int(max_length),
    )


def _refuse(name: str, why: str) -> SchemaError:
    return SchemaError(
        f"field {name!r} cannot be verbatim: {why}. Verbatim fields are top-level free strings, "
        "optionally nullable."
    )
