"""Compile a decode schema into an llguidance token constraint, or refuse it loudly.

The grammar is compact JSON: no free whitespace, ``,`` and ``:`` separators, keys in schema
order. Compiled constraints are cached per (schema fingerprint, tokenizer). A keyword llguidance
cannot enforce raises ``UnsupportedSchemaError`` naming the field and keyword, unless the caller
allows it to be checked after decoding instead (``allow_post_checks``), in which case the keyword
is named in ``CompiledConstraint.post_checked`` and the final jsonschema validation enforces it.
A schema that compiles but that the engine cannot start decoding is refused as well, naming the
field and keyword (``extractly.decodability``). This module never falls back to generic JSON.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import llguidance

from . import decodability, verbatim
from .errors import SchemaError, UnsupportedSchemaError
from .formats import with_exact_formats
from .json_schema import JSON, describe_path, walk
from .schema import VERBATIM_KEY, schema_fingerprint

_COMPILE_OPTIONS: dict[str, Any] = {
    "whitespace_flexible": False,
    "item_separator": ",",
    "key_separator": ":",
}

POST_CHECKABLE = frozenset(
    {
        "uniqueItems",
        "not",
        "if",
        "then",
        "else",
        "dependentRequired",
        "dependentSchemas",
        "dependencies",
        "contains",
        "minContains",
        "maxContains",
        "propertyNames",
        "unevaluatedProperties",
        "unevaluatedItems",
        "multipleOf",
        "minProperties",
        "maxProperties",
        "oneOf",
    }
)
"""Keywords that may be checked after decoding when llguidance cannot enforce them.

``oneOf`` is here for its "exactly one" half only. llguidance compiles a ``oneOf`` whose
branches it can prove disjoint (different types, ``const`` tags, ...) exactly, with no post-check.
Other ``oneOf``s are decoded as ``anyOf``, so the grammar admits a value matching two branches,
which the user's schema forbids; the output validation (jsonschema on the user's schema) then
rejects it with ``OutputValidationError``. That is a post-check like ``uniqueItems`` (the check is
exact, but the constraint no longer guarantees a valid answer), so it needs
``allow_post_checks=True`` and is listed in ``CompiledConstraint.post_checked``."""

_UNIMPLEMENTED = re.compile(r"Unimplemented keys: \[([^\]]*)\]")
_ONE_OF_MESSAGES = re.compile(
    r"oneOf constraints are not supported|oneOf not fully supported, falling back to anyOf"
)
"""llguidance's error (strict) and warning (lenient) for a ``oneOf`` it cannot prove exclusive."""


@dataclass(frozen=True)
class CompiledConstraint:
    """A grammar ready to be matched against tokens, plus what it leaves to validation."""

    grammar: str
    fingerprint: str
    post_checked: tuple[str, ...]
    template: llguidance.LLMatcher
    verbatim: tuple[verbatim.VerbatimField, ...] = ()
    """Fields copied from the document: the grammar is then built per document."""
    verbatim_template: str = ""
    """The grammar for those fields without the document (``verbatim.grammar_template``)."""
    tokenizer: llguidance.LLTokenizer | None = None

    def new_matcher(self, text: str = "") -> llguidance.LLMatcher:
        """A fresh matcher in the start state for the document ``text``.

        Without verbatim fields this copies the compiled template (cheap) and ignores ``text``;
        with them it compiles the document's grammar (about 2 ms).
        """
        if not self.verbatim:
            return self.template.deep_copy()
        assert self.tokenizer is not None
        grammar = verbatim.grammar_for(self.verbatim_template, text)
        matcher = llguidance.LLMatcher(self.tokenizer, grammar, log_level=0)
        if matcher.is_error():  # the grammar was checked at compile time with a sample text
            raise UnsupportedSchemaError(
                f"the verbatim constraint for this document failed to compile: "
                f"{matcher.get_error()}",
                feature=VERBATIM_KEY,
            )
        return matcher


_cache: dict[tuple[str, int, bool, tuple[str, ...]], CompiledConstraint] = {}
_cache_lock = threading.Lock()


def compile_constraint(
    decode_schema: Mapping[str, Any],
    tokenizer: llguidance.LLTokenizer,
    *,
    allow_post_checks: bool = False,
    verbatim_fields: tuple[str, ...] = (),
) -> CompiledConstraint:
    """Compile ``decode_schema`` for ``tokenizer``; cached by schema fingerprint.

    ``verbatim_fields`` names top-level string properties whose values must be copied from the
    document (``extractly.verbatim``); their matchers are then built per document.
    """
    fingerprint = schema_fingerprint(decode_schema)
    key = (fingerprint, id(tokenizer), allow_post_checks, verbatim_fields)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    schema = with_exact_formats(decode_schema)
    compiled = _compile(schema, tokenizer, fingerprint, allow_post_checks)
    if verbatim_fields:
        compiled = _with_verbatim(compiled, schema, tokenizer, verbatim_fields)
    with _cache_lock:
        _cache[key] = compiled
    return compiled


def clear_cache() -> None:
    """Forget every compiled constraint (benchmarks that time a real compile use this)."""
    with _cache_lock:
        _cache.clear()


def _compile(
    schema: dict[str, Any],
    tokenizer: llguidance.LLTokenizer,
    fingerprint: str,
    allow_post_checks: bool,
) -> CompiledConstraint:
    post_checked: tuple[str, ...] = ()
    grammar = _grammar(schema, lenient=False)
    error = _validate(grammar, tokenizer)
    if error:
        unimplemented = _unimplemented_keys(error)
        if unimplemented and allow_post_checks and set(unimplemented) <= POST_CHECKABLE:
            grammar = _grammar(schema, lenient=True)
            error, post_checked = _validate_lenient(grammar, tokenizer)
            unimplemented = _unimplemented_keys(error)
        if error:
            raise _unsupported(schema, error, unimplemented, allow_post_checks)
    matcher = llguidance.LLMatcher(tokenizer, grammar, log_level=0)
    if matcher.is_error():
        raise _unsupported(schema, matcher.get_error(), [], allow_post_checks)
    _check_decodable(schema, grammar, tokenizer, dict(_COMPILE_OPTIONS, lenient=bool(post_checked)))
    return CompiledConstraint(grammar, fingerprint, post_checked, matcher)


def _check_decodable(
    schema: JSON,
    grammar: str,
    tokenizer: llguidance.LLTokenizer,
    options: dict[str, Any],
) -> None:
    """Refuse a schema the engine compiles but cannot start decoding (``decodability``).

    The first step runs on a matcher of its own: copies of the template share its lexer
    state, and the states this probe builds would count against every later decode's limit
    (measured: 10 valid MaskBench instances of Github_hard---o21072..76 then failed).
    """
    blame = decodability.blame_string(schema, tokenizer, options)
    if blame is not None:
        field = describe_path(blame.path)
        raise UnsupportedSchemaError(
            f"field {field}: JSON Schema keyword {blame.keyword!r} cannot be decoded: the "
            f"grammar engine gives up at the first character of the value ({blame.error}). "
            + _DECODABILITY_HINTS[blame.keyword],
            path=blame.path,
            feature=blame.keyword,
        )
    error = decodability.first_step_error(llguidance.LLMatcher(tokenizer, grammar, log_level=0))
    if error:
        raise UnsupportedSchemaError(
            f"schema compiles but cannot start decoding: the grammar engine fails at the first "
            f"token ({error}). Simplify the schema's patterns or sizes.",
            feature="grammar",
        )


_DECODABILITY_HINTS = {
    "maxLength": "It decodes without the length bounds: lower maxLength, or drop it and check "
    "the length yourself.",
    "minLength": "It decodes without the length bounds: drop minLength, or simplify the pattern.",
    "pattern": "Simplify the pattern (fewer or smaller bounded repetitions such as {0,99}).",
    "format": "Use a pattern instead of this format.",
}


def _with_verbatim(
    compiled: CompiledConstraint,
    schema: JSON,
    tokenizer: llguidance.LLTokenizer,
    names: tuple[str, ...],
) -> CompiledConstraint:
    fields = verbatim.plan(schema, names)
    options = dict(_COMPILE_OPTIONS, lenient=bool(compiled.post_checked))
    template = verbatim.grammar_template(schema, fields, options)
    error = _validate(verbatim.grammar_for(template, "a sample text"), tokenizer)
    if error:
        raise SchemaError(f"the verbatim fields {list(names)} cannot be compiled: {error}")
    return CompiledConstraint(
        compiled.grammar,
        compiled.fingerprint,
        compiled.post_checked,
        compiled.template,
        verbatim=fields,
        verbatim_template=template,
        tokenizer=tokenizer,
    )


def _grammar(schema: dict[str, Any], *, lenient: bool) -> str:
    overrides = dict(_COMPILE_OPTIONS, lenient=lenient)
    try:
        return str(llguidance.LLMatcher.grammar_from_json_schema(schema, overrides=overrides))  # type: ignore[arg-type]
    except ValueError as exc:
        raise UnsupportedSchemaError(f"schema is not valid JSON: {exc}") from exc


def _validate(grammar: str, tokenizer: llguidance.LLTokenizer) -> str:
    is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(grammar, tokenizer)
    return messages[0] if is_error and messages else ""


def _validate_lenient(
    grammar: str, tokenizer: llguidance.LLTokenizer
) -> tuple[str, tuple[str, ...]]:
    """Validate a lenient grammar: ``(error, keywords left to validation)``.

    Lenient mode turns everything llguidance cannot enforce into warnings, not only the keywords
    we post-check: an unknown ``format`` is dropped, min/maxProperties is ignored, and more
    unimplemented keywords may be reported than the strict error named. Any warning other than
    unimplemented post-checkable keywords (``oneOf`` decoded as ``anyOf`` among them) would
    weaken the constraint silently, so it is returned as the error.
    """
    is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(grammar, tokenizer)
    if is_error:
        return (messages[0] if messages else ""), ()
    keys: set[str] = set()
    for message in messages:
        found = _unimplemented_keys(message)
        if not found or not set(found) <= POST_CHECKABLE:
            return message, ()
        keys.update(found)
    return "", tuple(sorted(keys))


def _unimplemented_keys(error: str) -> list[str]:
    """The keywords llguidance says it cannot enforce (``oneOf`` for one it can only decode as
    ``anyOf``)."""
    if _ONE_OF_MESSAGES.search(error):
        return ["oneOf"]
    match = _UNIMPLEMENTED.search(error)
    if not match:
        return []
    return [str(k) for k in json.loads(f"[{match.group(1)}]")]


def _unsupported(
    schema: dict[str, Any], error: str, unimplemented: list[str], allow_post_checks: bool
) -> UnsupportedSchemaError:
    first_line = error.strip().splitlines()[0] if error.strip() else "unknown error"
    if unimplemented:
        # Name the keyword that blocks compilation in this mode, not one that could be post-checked.
        feature = next(
            (k for k in unimplemented if not (allow_post_checks and k in POST_CHECKABLE)),
            unimplemented[0],
        )
        path = next((p for p, sub in walk(schema) if feature in sub), "")
        hint = (
            " It can be checked after decoding instead: pass allow_post_checks=True."
            if feature in POST_CHECKABLE and not allow_post_checks
            else ""
        )
        return UnsupportedSchemaError(
            f"field {describe_path(path)}: JSON Schema keyword {feature!r} cannot be enforced "
            f"during decoding.{hint} Remove it from the schema or restate it with supported "
            "keywords (type, enum, const, properties, items, anyOf, min/max, pattern, format).",
            path=path,
            feature=feature,
        )
    return UnsupportedSchemaError(
        f"schema cannot be compiled into a decoding constraint: {first_line}", feature="grammar"
    )
