"""Turn decoded text into the user's value, or an ``ExtractionError`` with the evidence.

The constraint guarantees well-formed JSON for the decode schema; this step removes the nulls
that stand for absent optional keys, then validates against the user's own schema: with
Pydantic (including custom validators) for a model, with jsonschema (formats checked) for a
dict. Keywords the constraint left to this step (``post_checked``) are enforced here, and so
are verbatim fields when the text is given (answers from backends without the constraint).
``json_span`` finds the object in a chat model's answer that wraps it in prose. Every backend's
answer goes through ``OutputValidator.parse``; nothing else turns raw text into a value.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pydantic

from .errors import ExtractionError, OutputValidationError, TruncatedOutputError
from .schema import SchemaSpec, prune_absent_nulls
from .verbatim import check_copied


def json_span(text: str) -> str:
    """The first JSON object in ``text`` (a chat model may wrap it in prose or a code fence);
    ``text`` itself when there is none, so the validator reports what was wrong."""
    start = text.find("{")
    if start < 0:
        return text
    try:
        _, end = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError:
        return text
    return text[start:end]


class OutputValidator:
    def __init__(self, spec: SchemaSpec, verbatim: tuple[str, ...] = ()) -> None:
        self.spec = spec
        self.verbatim = verbatim
        cls = jsonschema.validators.validator_for(
            spec.user_schema, default=jsonschema.Draft202012Validator
        )
        self._jsonschema = cls(spec.user_schema, format_checker=cls.FORMAT_CHECKER)

    def parse(self, raw_text: str, stop_reason: str, source: str | None = None) -> Any:
        """The user's value from a decoded answer. With ``source`` (the document), verbatim
        fields must occur in it."""
        if stop_reason == "max_tokens":
            raise TruncatedOutputError(
                "the output reached max_tokens before the JSON was complete; raise max_tokens "
                "or tighten the schema (maxLength, maxItems)",
                raw_text=raw_text,
            )
        if stop_reason != "complete":
            raise ExtractionError(f"decoding stopped early ({stop_reason})", raw_text=raw_text)
        try:
            value = json.loads(raw_text)
        except json.JSONDecodeError as exc:
            raise ExtractionError(f"output is not JSON: {exc}", raw_text=raw_text) from exc
        if source is not None and self.verbatim:
            why = check_copied(value, self.verbatim, source)
            if why:
                raise OutputValidationError(why, raw_text=raw_text)
        value = prune_absent_nulls(value, self.spec.user_schema, self.spec.user_schema)
        return self.validate(value, raw_text)

    def schema_errors(self, value: Any) -> list[jsonschema.ValidationError]:
        """Every way ``value`` (JSON data) fails the user's JSON Schema, ordered by path."""
        return sorted(self._jsonschema.iter_errors(value), key=lambda e: list(e.path))

    def validate(self, value: Any, raw_text: str) -> Any:
        errors = self.schema_errors(value)
        if errors:
            where = "/".join(str(p) for p in errors[0].path) or "<root>"
            raise OutputValidationError(
                f"output fails the schema at {where}: {errors[0].message}", raw_text=raw_text
            )
        model = self.spec.pydantic_model
        if model is None:
            return value
        try:
            return model.model_validate(value)
        except pydantic.ValidationError as exc:
            raise OutputValidationError(
                f"output fails {model.__name__} validation: {exc}", raw_text=raw_text
            ) from exc
