"""Prove at build time that a compiled constraint can start decoding, or say which field cannot.

llguidance builds its lexer lazily: a schema can validate and compile, and the engine then gives
up on the first character of a value ("too many expressions constructed", typically a
``pattern`` with a bounded repetition such as ``^(?:\\S+\\s+){0,99}\\S+$`` intersected with a
large ``maxLength``). Without this check such a schema would build and then fail on every
document. ``first_step_error`` runs the constraint the way the decoder starts (forced tokens,
then the first token mask) without the model; ``blame_string`` then compiles each string
sub-schema that carries a regular expression (``pattern``, ``format``) alone and computes the
mask at its first character, which also covers fields the first step does not reach. Each
check costs about a millisecond; string checks are cached per process by their keywords.

This is a proof about the first step of each value, not about every output: it runs no model
and explores no path beyond the first character of a string. Not here: compiling the schema
(``extractly.constraint``), the decode loop (``extractly.engine``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import llguidance

from .json_schema import JSON, walk

STRING_KEYWORDS = ("pattern", "format", "minLength", "maxLength")
"""The keywords that shape one string lexeme: a string sub-schema is checked with these alone."""

LENGTH_KEYWORDS = ("minLength", "maxLength")


@dataclass(frozen=True)
class Blame:
    """The string field the grammar engine cannot start, and which keyword to change."""

    path: str
    """JSON Pointer of the sub-schema in the decode schema."""
    keyword: str
    """``maxLength`` when the field decodes without its length bounds (the combination is what
    the engine gives up on), otherwise ``pattern`` or ``format``."""
    error: str
    """The engine's message, first line."""


def first_step_error(matcher: llguidance.LLMatcher) -> str:
    """The engine's error when ``matcher`` (in its start state; it is used up) takes its forced
    tokens and computes the first token mask; ``""`` when it can.

    Pass a matcher built for the check, not a copy of a template that will decode: copies
    share the lexer state, and the states built here count against their limit.
    """
    forced = matcher.compute_ff_tokens()
    if forced:
        matcher.consume_tokens(forced)
    if not matcher.is_error() and not matcher.is_stopped():
        matcher.compute_bitmask()
    return _first_line(matcher.get_error()) if matcher.is_error() else ""


def blame_string(
    schema: Mapping[str, Any], tokenizer: llguidance.LLTokenizer, options: Mapping[str, Any]
) -> Blame | None:
    """The first string sub-schema of ``schema`` (after ``with_exact_formats``) whose first
    character the engine cannot compute, or ``None``. ``options`` are the JSON compile options
    the constraint was built with."""
    for path, leaf in _regex_strings(schema):
        error = _string_error(leaf, tokenizer, options)
        if not error:
            continue
        if "pattern" in leaf and "format" in leaf:
            keyword = (
                "format"
                if not _string_error(_without(leaf, "pattern"), tokenizer, options)
                else "pattern"
            )
        else:
            keyword = "pattern" if "pattern" in leaf else "format"
        lengths = any(k in leaf for k in LENGTH_KEYWORDS)
        if lengths and not _string_error(_without(leaf, *LENGTH_KEYWORDS), tokenizer, options):
            keyword = "maxLength" if "maxLength" in leaf else "minLength"
        return Blame(path, keyword, error)
    return None


def _regex_strings(schema: Mapping[str, Any]) -> Iterator[tuple[str, JSON]]:
    """``(pointer, string keywords)`` of each string sub-schema with a ``pattern`` or
    ``format``."""
    for path, sub in walk(schema):
        t = sub.get("type", "string")
        is_string = t == "string" or (isinstance(t, list) and "string" in t)
        has_regex = isinstance(sub.get("pattern"), str) or isinstance(sub.get("format"), str)
        if is_string and has_regex:
            leaf = {k: sub[k] for k in STRING_KEYWORDS if k in sub}
            yield path, {"type": "string", **leaf}


def _without(leaf: JSON, *keys: str) -> JSON:
    return {k: v for k, v in leaf.items() if k not in keys}


_cache: dict[str, str] = {}
_cache_lock = threading.Lock()


def _string_error(leaf: JSON, tokenizer: llguidance.LLTokenizer, options: Mapping[str, Any]) -> str:
    """The engine's error at the first character of a string with ``leaf``'s keywords alone."""
    key = json.dumps([leaf, dict(options), id(tokenizer)], sort_keys=True)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    error = ""
    try:
        grammar = llguidance.LLMatcher.grammar_from_json_schema(leaf, overrides=dict(options))  # type: ignore[arg-type]
    except ValueError:
        grammar = ""
    # A string that does not compile alone (an unknown format the whole schema's mode drops) is
    # the compiler's business, not a decoding failure: only a compiled one is started.
    if grammar:
        matcher = llguidance.LLMatcher(tokenizer, grammar, log_level=0)
        if not matcher.is_error():
            error = first_step_error(matcher)
    with _cache_lock:
        _cache[key] = error
    return error


def _first_line(message: str) -> str:
    lines = message.strip().splitlines()
    return lines[0] if lines else "unknown error"
