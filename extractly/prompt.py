"""Render prompts for a base (pre-trained, not instruction-tuned) model. Pure functions.

A base model continues documents; it does not follow chat turns. So the prompt is a document
that already contains worked examples in the exact format we want continued::

    <instructions and a field list>

    Text: <example text>
    JSON:
    <example object>

    Text: <the document>
    JSON:
    <- decoding starts here, under the constraint

A prompt is a list of *pieces* that are tokenized separately and concatenated, and every example
object is its own piece. That way the example objects are tokenized exactly like the decoder's
output starts (right after "JSON:\\n"), and the prefix shared by all documents is the same token
sequence every time, so its KV cache can be reused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .schema import Example, SchemaSpec, decoded_form


def document_frame(text: str) -> str:
    """The frame around one text, written once for the documents, the worked examples and the
    re-ask: ``"Text: <text>\\nJSON:\\n"``. The object follows it (the decoder starts there)."""
    return f"Text: {text}\nJSON:\n"


@dataclass(frozen=True)
class Prompt:
    prefix: tuple[str, ...]
    """Pieces shared by every document under one schema (instructions, examples)."""

    def document(self, text: str) -> tuple[str, ...]:
        """Pieces that follow the prefix for one document."""
        return (document_frame(text),)

    def reask(self, text: str, previous: str, error: str) -> tuple[str, ...]:
        """Pieces for a second try at ``text``: the rejected answer, why, then a fresh start.

        A base model continues documents, so the correction is written as part of the document
        rather than as a chat turn.
        """
        reason = " ".join(error.split())[:300]
        return (
            document_frame(text),
            previous.strip()[:1000],
            f"\nRejected: {reason}\nCorrected JSON:\n",
        )

    def render(self, text: str) -> str:
        """The whole prompt as one string (for peers that take plain text)."""
        return "".join(self.prefix + self.document(text))


def compact_json(value: Any) -> str:
    """The serialization the constrained decoder produces: no spaces, UTF-8 kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def build_prompt(
    spec: SchemaSpec,
    *,
    instructions: str | None = None,
    examples: Sequence[Example] | None = None,
    instruction_free: bool = False,
    zero_shot: bool = False,
) -> Prompt:
    """The prompt for ``spec``.

    ``instructions=None`` renders default instructions from the schema; ``""`` renders none.
    ``examples=None`` uses the examples attached to the schema. ``instruction_free`` (for a
    schema-specific fine-tune) sends nothing but the document. ``zero_shot`` (for the general
    adapter, trained on many schemas) sends the instructions and field list, no examples.
    """
    if instruction_free:
        return Prompt(prefix=())
    shots = () if zero_shot else spec.examples if examples is None else tuple(examples)
    head = default_instructions(spec) if instructions is None else instructions
    pieces: list[str] = []
    if head:
        pieces.append(head.rstrip() + "\n\n")
    for shot in shots:
        pieces.append(document_frame(shot.text))
        pieces.append(compact_json(decoded_form(shot.output, spec.decode_schema)))
        pieces.append("\n\n")
    return Prompt(prefix=tuple(pieces))


def default_instructions(spec: SchemaSpec) -> str:
    lines = [f"Extract a {spec.name} object from each text as JSON."]
    if spec.description:
        lines.append(spec.description.strip())
    props = spec.user_schema.get("properties")
    if isinstance(props, Mapping) and props:
        lines.append("Fields:")
        required = set(spec.user_schema.get("required", []))
        for name, prop in props.items():
            lines.append(f"- {name}{_describe(prop, name in required)}")
    lines.append("Copy values from the text. Use null for anything the text does not say.")
    return "\n".join(lines)


def _describe(prop: Any, required: bool) -> str:
    if not isinstance(prop, Mapping):
        return ""
    kind = _type_name(prop)
    desc = str(prop.get("description", "")).strip()
    text = f" ({kind})" if kind else ""
    if desc:
        text += f": {desc}"
    return text


def _type_name(prop: Mapping[str, Any]) -> str:
    if "enum" in prop:
        return "one of " + ", ".join(json.dumps(v) for v in prop["enum"][:12])
    if "const" in prop:
        return f"always {json.dumps(prop['const'])}"
    for key in ("anyOf", "oneOf"):
        if key in prop:
            names = [_type_name(p) for p in prop[key] if isinstance(p, Mapping)]
            names = [n for n in names if n and n != "null"]
            return " or ".join(dict.fromkeys(names))
    t = prop.get("type")
    if isinstance(t, list):
        return " or ".join(str(x) for x in t if x != "null")
    if t == "array" and isinstance(prop.get("items"), Mapping):
        inner = _type_name(prop["items"])
        return f"list of {inner}" if inner else "list"
    if t == "string" and "format" in prop:
        return f"string, {prop['format']}"
    if "$ref" in prop:
        return "object"
    return str(t) if t else ""
