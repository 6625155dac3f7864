"""Turn a user's schema (Pydantic model or JSON Schema dict) into what the decoder needs.

``load_schema`` returns a ``SchemaSpec``: the user's JSON Schema (used to validate), the decode
schema (the same plus small-model safeguards, used to build the token constraint), the worked
examples attached to the schema, and a fingerprint that keys every cache. This module is pure:
it does not talk to the model or to llguidance. Not here: walking schemas, ``$ref`` and JSON
Pointers (``extractly.json_schema``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from pydantic import BaseModel

from .errors import SchemaError, UnsupportedSchemaError
from .json_schema import JSON, allows_null, describe_path, resolve_ref, walk
from .result import as_json_data
from .settings import Safeguards

EXAMPLES_KEY = "x-extractly-examples"
"""Key under which a schema carries worked examples: a list of ``{"text", "output"}``."""

VERBATIM_KEY = "x-extractly-verbatim"
"""Top-level property key that marks a field whose value must be copied from the text
(``extractly.verbatim``)."""


@dataclass(frozen=True)
class Example:
    """A worked example for few-shot prompting: a text and the object extracted from it."""

    text: str
    output: Mapping[str, Any]

    @classmethod
    def coerce(cls, item: Any) -> Example:
        if isinstance(item, Example):
            return item
        if isinstance(item, Mapping) and "text" in item and "output" in item:
            output = item["output"]
        elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2:
            item = {"text": item[0], "output": item[1]}
            output = item["output"]
        else:
            raise SchemaError(
                "an example must be Example(text, output), a (text, output) pair or a dict "
                f"with 'text' and 'output'; got {item!r:.200}"
            )
        output = as_json_data(output)
        if not isinstance(item["text"], str) or not isinstance(output, Mapping):
            raise SchemaError(
                f"an example needs a str text and an object output; got {item!r:.200}"
            )
        return cls(text=item["text"], output=dict(output))


@dataclass(frozen=True)
class SchemaSpec:
    """Everything derived from the user's schema."""

    name: str
    user_schema: JSON
    decode_schema: JSON
    examples: tuple[Example, ...]
    fingerprint: str
    pydantic_model: type[BaseModel] | None = None
    description: str = ""
    null_means_absent: frozenset[str] = field(default_factory=frozenset)
    verbatim: tuple[str, ...] = ()
    """Top-level fields marked ``x-extractly-verbatim`` (the marker is not in
    ``decode_schema``, so it does not change the fingerprint)."""


def load_schema(schema: type[BaseModel] | Mapping[str, Any], safeguards: Safeguards) -> SchemaSpec:
    """Normalize ``schema`` and apply ``safeguards`` to the copy used for decoding."""
    pydantic_model: type[BaseModel] | None = None
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        pydantic_model = schema
        try:
            user_schema = schema.model_json_schema()
        except Exception as exc:  # pydantic raises several types for unrepresentable fields
            raise SchemaError(f"{schema.__name__} has no JSON Schema: {exc}") from exc
        name = schema.__name__
    elif isinstance(schema, Mapping):
        user_schema = copy.deepcopy(dict(schema))
        name = str(user_schema.get("title", "Object"))
    else:
        raise SchemaError(
            "schema must be a pydantic.BaseModel subclass or a JSON Schema dict, "
            f"not {schema!r:.100}"
        )
    try:
        json.dumps(user_schema)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"schema is not JSON-serializable: {exc}") from exc

    _check_patterns(user_schema)
    raw_examples = user_schema.pop(EXAMPLES_KEY, None) or []
    examples = tuple(Example.coerce(e) for e in raw_examples)
    decode_schema = apply_safeguards(legacy_ref_semantics(user_schema), safeguards)
    verbatim = _pop_verbatim_markers(user_schema, decode_schema)
    fingerprint = schema_fingerprint(decode_schema)
    return SchemaSpec(
        name=name,
        user_schema=user_schema,
        decode_schema=decode_schema,
        examples=examples,
        fingerprint=fingerprint,
        pydantic_model=pydantic_model,
        description=str(user_schema.get("description", "")),
        verbatim=verbatim,
    )


def _check_patterns(user_schema: JSON) -> None:
    """Refuse a ``pattern`` (or ``patternProperties`` key) Python's ``re`` cannot compile.

    The output validation runs them with ``re`` (jsonschema does), so a regex in another
    dialect, such as ``\\p{Letter}``, would crash on the first answer instead of here.
    """
    for pointer, sub in walk(user_schema):
        found = [("pattern", sub["pattern"])] if isinstance(sub.get("pattern"), str) else []
        if isinstance(sub.get("patternProperties"), dict):
            found += [("patternProperties", key) for key in sub["patternProperties"]]
        for keyword, regex in found:
            try:
                re.compile(regex)
            except re.error as exc:
                raise UnsupportedSchemaError(
                    f"field {describe_path(pointer)}: {keyword} {regex!r} cannot be checked: "
                    f"Python's re, which validates the output, rejects it ({exc}). Write it "
                    "without that syntax (e.g. a character class instead of \\p{...}).",
                    path=pointer,
                    feature=keyword,
                ) from exc


def _pop_verbatim_markers(user_schema: JSON, decode_schema: JSON) -> tuple[str, ...]:
    """The top-level fields ``user_schema`` marks verbatim; the markers are removed from
    ``decode_schema``. A marker anywhere else is refused rather than ignored."""
    props = user_schema.get("properties")
    top = list(props.values()) if isinstance(props, dict) else []
    for pointer, sub in walk(user_schema):
        if VERBATIM_KEY in sub and not any(sub is p for p in top):
            raise SchemaError(
                f"{VERBATIM_KEY} at {describe_path(pointer)}: only top-level properties can be "
                "verbatim"
            )
    for _, sub in walk(decode_schema):
        sub.pop(VERBATIM_KEY, None)
    if not isinstance(props, dict):
        return ()
    return tuple(n for n, p in props.items() if isinstance(p, dict) and p.get(VERBATIM_KEY))


def schema_fingerprint(schema: Mapping[str, Any]) -> str:
    """A stable hash of a schema: same schema, same key order -> same fingerprint."""
    canonical = json.dumps(schema, sort_keys=False, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


_LEGACY_DRAFTS = (
    jsonschema.Draft3Validator,
    jsonschema.Draft4Validator,
    jsonschema.Draft6Validator,
    jsonschema.Draft7Validator,
)
_REF_SIBLINGS_KEPT = frozenset(
    {"$ref", "definitions", "$defs", "$id", "id", "$schema", "$comment", "title", "description"}
)


def legacy_ref_semantics(user_schema: Mapping[str, Any]) -> JSON:
    """Give a draft 3-7 schema's ``$ref`` its own draft's meaning in the decode schema.

    Up to draft 7 every keyword beside ``$ref`` is ignored, and the output validation (which
    picks the validator from ``$schema``) ignores them; llguidance applies them as in 2019-09
    and later. Dropping them keeps the constraint and the validation in agreement. Other
    schemas are returned unchanged.
    """
    if not isinstance(user_schema.get("$schema"), str):
        return dict(user_schema)
    cls = jsonschema.validators.validator_for(user_schema, default=jsonschema.Draft202012Validator)
    if cls not in _LEGACY_DRAFTS:
        return dict(user_schema)
    schema: JSON = copy.deepcopy(dict(user_schema))
    for _, sub in list(walk(schema)):
        if isinstance(sub.get("$ref"), str):
            for key in [k for k in sub if k not in _REF_SIBLINGS_KEPT]:
                del sub[key]
    return schema


def _is_free_string(schema: Mapping[str, Any]) -> bool:
    t = schema.get("type")
    is_string = t == "string" or (isinstance(t, list) and "string" in t)
    constrained = any(k in schema for k in ("enum", "const", "format", "pattern", "maxLength"))
    return is_string and not constrained


def apply_safeguards(user_schema: Mapping[str, Any], safeguards: Safeguards) -> JSON:
    """Return a copy of ``user_schema`` with the small-model safeguards applied.

    Every value the safeguarded schema admits is also admitted by the user's schema, except that
    a ``null`` may stand for an absent optional property (``prune_absent_nulls`` removes it).
    """
    schema: JSON = copy.deepcopy(dict(user_schema))
    partial = _partial_objects(schema)
    for _, sub in list(walk(schema)):
        if safeguards.max_string_length is not None and _is_free_string(sub):
            sub["maxLength"] = safeguards.max_string_length
        is_array = sub.get("type") == "array" or (
            isinstance(sub.get("type"), list) and "array" in sub["type"]
        )
        if is_array and safeguards.max_list_items is not None and "maxItems" not in sub:
            floor = int(sub.get("minItems", 0))
            sub["maxItems"] = max(safeguards.max_list_items, floor)
        is_object = isinstance(sub.get("properties"), dict)
        if safeguards.all_keys_present and is_object and id(sub) not in partial:
            _make_all_keys_present(sub)
    return schema


_OBJECT_KEYWORDS = ("properties", "patternProperties", "additionalProperties", "required", "$ref")


def _partial_objects(schema: JSON) -> set[int]:
    """Ids of sub-schemas that describe only part of an object: ``allOf`` branches, and
    ``anyOf`` / ``oneOf`` branches beside the parent's own properties (or what a branch's local
    ``$ref`` points to), and the branches of such branches.

    Such a branch is combined with its siblings or its parent, so closing it
    (``additionalProperties: false``) would forbid the keys they add: ``{"properties": {"a": ..},
    "oneOf": [{"properties": {"b": ..}}]}`` would admit no object with ``a``. ``all_keys_present``
    leaves them alone; the parent (or a standalone branch) still gets every key.
    """
    found: set[int] = set()
    subs = [sub for _, sub in walk(schema)]
    while True:  # until no change: a partial object's own branches are partial too
        before = len(found)
        for sub in subs:
            partial = id(sub) in found or any(k in sub for k in _OBJECT_KEYWORDS)
            for key in ("allOf", "anyOf", "oneOf"):
                branches = sub.get(key)
                if isinstance(branches, list) and (key == "allOf" or partial):
                    dicts = [b for b in branches if isinstance(b, dict)]
                    found.update(id(b) for b in dicts)
                    targets = [resolve_ref(b, schema) for b in dicts if "$ref" in b]
                    found.update(id(t) for t in targets if t)  # {}: nowhere, a new dict
        if len(found) == before:
            return found


def _make_all_keys_present(obj: JSON) -> None:
    required = list(obj.get("required", []))
    props: dict[str, Any] = obj["properties"]
    for name, prop in list(props.items()):
        if name in required:
            continue
        if absent_value(prop) is None and not allows_null(prop):  # absence needs a null
            props[name] = {"anyOf": [prop, {"type": "null"}]}
        required.append(name)
    # Keep the schema's property order; llguidance emits required keys in that order.
    obj["required"] = [n for n in props if n in required] + [n for n in required if n not in props]
    # Close the object only where its own properties name every key it may have: branches
    # (allOf / anyOf / oneOf, a sibling $ref) or required keys it does not list add others.
    adds_keys = any(k in obj for k in ("allOf", "anyOf", "oneOf", "$ref"))
    if not adds_keys and all(n in props for n in required):
        obj.setdefault("additionalProperties", False)


def absent_value(prop: Any) -> Any:
    """What the constrained decoder writes for an optional property that is absent, under
    ``all_keys_present``: the property's default when it has one, else ``[]`` for an array that
    allows an empty list and not ``null``, else ``null`` (``_make_all_keys_present`` widens the
    property to admit it)."""
    if isinstance(prop, dict) and prop.get("default") is not None:
        return copy.deepcopy(prop["default"])
    if allows_null(prop) or not _empty_list_allowed(prop):
        return None
    return []


def decoded_form(value: Any, schema: Mapping[str, Any]) -> Any:
    """``value`` (valid under the user's schema) as the constrained decoder writes it under the
    safeguarded ``schema``: keys in the schema's property order, every required key present (an
    absent optional property as ``absent_value``), with nested objects in arrays, ``$ref``
    targets and ``anyOf`` / ``oneOf`` branches treated alike. A branch is chosen by validating
    the rewritten value against it; a value no branch admits is returned as it is, for the
    caller's validation to report."""
    validators: list[Any] = []  # built on the first anyOf / oneOf branch tried

    def admits(branch: Mapping[str, Any], candidate: Any) -> bool:
        if not validators:
            validators.append(jsonschema.Draft202012Validator(schema))
        return bool(validators[0].evolve(schema=branch).is_valid(candidate))

    def form(value: Any, sub: Any) -> Any:
        node = resolve_ref(sub, schema)
        if isinstance(value, dict) and isinstance(node.get("properties"), Mapping):
            props = node["properties"]
            required = set(node.get("required", []))
            out = {k: form(value[k], props[k]) if k in value else absent_value(props[k])
                   for k in props if k in value or k in required}
            out.update({k: v for k, v in value.items() if k not in out})
            return out
        if isinstance(value, list) and ("items" in node or "prefixItems" in node):
            prefix = node.get("prefixItems")
            prefix = prefix if isinstance(prefix, list) else []
            items = node.get("items")
            return [form(v, prefix[i]) if i < len(prefix)
                    else form(v, items) if isinstance(items, Mapping) else v
                    for i, v in enumerate(value)]
        if isinstance(value, dict | list):
            for key in ("anyOf", "oneOf"):
                for branch in node.get(key, []):
                    if isinstance(branch, Mapping):
                        candidate = form(value, branch)
                        if admits(branch, candidate):
                            return candidate
        return value

    return form(value, schema)


def _empty_list_allowed(prop: Any) -> bool:
    """An optional array can say "absent" as ``[]``: better for a small model than ``null``."""
    return (
        isinstance(prop, dict)
        and prop.get("type") == "array"
        and not prop.get("minItems")
        and not any(k in prop for k in ("enum", "const", "contains"))
    )


def prune_absent_nulls(value: Any, schema: Mapping[str, Any], root: Mapping[str, Any]) -> Any:
    """Drop ``null`` values of optional properties that do not themselves allow ``null``.

    Under ``all_keys_present`` the decoder writes ``null`` for an optional property it found no
    value for; the user's schema may not admit ``null`` there (it admits absence instead).
    """
    schema = resolve_ref(schema, root)
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        props = schema["properties"]
        required = set(schema.get("required", []))
        for key in list(value):
            sub = props.get(key)
            if sub is None:
                continue
            nullable = allows_null(resolve_ref(sub, root))
            if value[key] is None and key not in required and not nullable:
                del value[key]
            else:
                value[key] = prune_absent_nulls(value[key], sub, root)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [prune_absent_nulls(v, schema["items"], root) for v in value]
    elif isinstance(value, dict | list):
        for key in ("anyOf", "oneOf"):
            branches = [b for b in schema.get(key, []) if not allows_null(b)]
            if len(branches) == 1:
                return prune_absent_nulls(value, branches[0], root)
    return value
