"""An instance of a schema written out as text a person might have written: the input half of a
synthetic training pair (``instances`` gives the output half).

``render(instance, schema, rng)`` states every property the instance has and nothing else (an
instance with none gives a sentence that mentions no field), in
one of four layouts (``STYLES``: label lines, bullets, prose sentences, one inline line), in a
shuffled order, sometimes with unrelated sentences around it. Values are written the way texts
write them, not the way the JSON stores them, so the model learns to normalise:

- dates as ``2024-03-03``, ``March 3, 2024``, ``3 March 2024`` or ``Mar 3, 2024``; date-times
  with ``at 14:30``;
- small integers sometimes in words (``seven``), large ones sometimes with separators
  (``12,500``), minutes of 60 and more sometimes as hours and minutes (``1 hour 5 minutes``);
- booleans as yes/no;
- lists in prose (``A, B and C``) or one per bullet; an empty list as "none";
- nested objects as ``label value`` clauses.

Real texts often state a value without naming its field ("Blue Spice is a coffee shop", not
"name: Blue Spice; eat type: coffee shop"). A model trained only on labelled statements learns
to leave a field null unless its label is in the text, so a share (``UNLABELLED``) of the values
the schema itself identifies are stated bare: an enum value no other field of the object can
take (the prompt lists the options), and the record's one name or title, which then leads the
text as its subject.

Labels come from the property's ``title`` or its name's words (``vocab.words_of``). Each stated
value's written form is returned beside the text (``Rendered.written``, JSON pointer -> form),
so a test can check that the text states what the output says.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import vocab

STYLES = ("lines", "bullets", "prose", "inline")
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
                "seventeen", "eighteen", "nineteen", "twenty")
FILLER = (
    "Thanks for reading.", "More details will follow next week.", "Posted in the weekly update.",
    "Questions go to the usual channel.", "This note was written in a hurry.",
    "See the previous message for context.", "All times are local.", "Updated this morning.",
)
UNLABELLED = 0.5
"""Share of identifiable values (``_identifiable``) stated without their label."""
BARE_PROSE = ("It is {value}.", "This one is {value}.", "All {value}.", "Expect {value}.")
"""Sentences that state an enum value with no label."""
SUBJECT = ("{value} is the subject here.", "{value}.", "On {value}.", "About {value}:")
"""Openings that state the record's name or title with no label (prose)."""
PROSE = (
    "The {label} {is} {value}.", "{Label}: {value}.", "Its {label} {is} {value}.",
    "{value} {is} listed as the {label}.", "As for the {label}: {value}.",
    "We have {value} for the {label}.",
)


@dataclass(frozen=True)
class Rendered:
    text: str
    written: dict[str, str]
    """JSON pointer of each stated scalar -> how the text writes it."""


def render(instance: Mapping[str, Any], schema: Mapping[str, Any],
           rng: random.Random) -> Rendered:
    """``instance`` (an object) as text, in a layout drawn from ``STYLES``."""
    style = rng.choice(STYLES)
    schema = _Resolver(schema).node(schema, instance)
    return _render_object(instance, schema, style, _Resolver(schema), rng)


class _Resolver:
    """The schema node that describes a value: local ``$ref`` followed, and of ``anyOf`` /
    ``oneOf`` the branch whose type fits the value."""

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root

    def node(self, node: Any, value: Any) -> Mapping[str, Any]:
        for _ in range(20):
            if not isinstance(node, Mapping):
                return {}
            if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
                target: Any = self.root
                for part in filter(None, node["$ref"][1:].split("/")):
                    target = target.get(part, {}) if isinstance(target, Mapping) else {}
                if not isinstance(target, Mapping):
                    target = {}
                node = {**{k: v for k, v in node.items() if k != "$ref"}, **target}
                continue
            branches = node.get("anyOf") or node.get("oneOf")
            if isinstance(branches, list):
                fits = [b for b in (self.node(b, value) for b in branches) if _fits(b, value)]
                rest = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}
                node = {**rest, **(fits[0] if fits else {})}
                continue
            return node
        return {}


def _fits(node: Mapping[str, Any], value: Any) -> bool:
    kind = node.get("type")
    kinds = set(kind) if isinstance(kind, list) else {kind} if kind else set()
    if "enum" in node:
        return value in node["enum"]
    if not kinds:
        return True
    actual = ("null" if value is None else "boolean" if isinstance(value, bool)
              else "integer" if isinstance(value, int) else "number" if isinstance(value, float)
              else "string" if isinstance(value, str) else "array" if isinstance(value, list)
              else "object")
    return actual in kinds or (actual == "integer" and "number" in kinds)


def _render_object(instance: Mapping[str, Any], schema: Mapping[str, Any], style: str,
                   resolver: _Resolver, rng: random.Random) -> Rendered:
    props: Mapping[str, Any] = schema.get("properties") or {}
    keys = list(instance)
    if rng.random() < 0.6:
        rng.shuffle(keys)
    written: dict[str, str] = {}
    parts: list[str] = []
    subject: str | None = None
    for key in keys:
        value = instance[key]
        node = resolver.node(props.get(key, {}), value)
        label = _label(key, node)
        kind = _identifiable(key, value, node, instance, props, resolver)
        if kind and rng.random() < UNLABELLED:
            form = _scalar(value, node, key, rng)
            written[f"/{key}"] = form
            if kind == "subject":
                subject = form
            else:
                parts.append(_bare(style, form, rng))
            continue
        scalars = isinstance(value, list) and value and not any(
            isinstance(v, (list, Mapping)) for v in value)
        if style == "bullets" and scalars and rng.random() < 0.5:
            items = resolver.node(_item_node(node, 0), value[0])
            forms = [_scalar(v, items, key, rng) for v in value]
            written |= {f"/{key}/{i}": f for i, f in enumerate(forms)}
            parts.append(f"{label.capitalize()}:\n" + "\n".join(f"  - {f}" for f in forms))
            continue
        form = _value(value, node, key, f"/{key}", written, resolver, rng)
        plural = isinstance(value, list) and len(value) > 1
        parts.append(_state(style, label, form, plural, rng))
    if not parts and subject is None:  # nothing to state: a text that mentions no field
        return Rendered(rng.choice(FILLER), written)
    joiner = {"lines": "\n", "bullets": "\n", "prose": " ", "inline": "; "}[style]
    body = joiner.join(parts)
    if style == "bullets" and body:
        body = "\n".join(p if p.startswith("  ") else f"- {p}" for p in body.split("\n"))
    if subject is not None:
        opening = rng.choice(SUBJECT).format(value=subject) if style == "prose" else subject
        body = joiner.join(x for x in (opening, body) if x)
    title = " ".join(vocab.words_of(str(schema.get("title") or "")))
    if title and rng.random() < 0.4:
        body = (f"{title.capitalize()}\n{body}" if style != "prose"
                else f"About this {title}: {body}")
    if rng.random() < 0.3:
        body = f"{rng.choice(FILLER)}\n{body}" if rng.random() < 0.5 else \
            f"{body}\n{rng.choice(FILLER)}"
    return Rendered(body, written)


def _identifiable(key: str, value: Any, node: Mapping[str, Any], instance: Mapping[str, Any],
                  props: Mapping[str, Any], resolver: _Resolver) -> str | None:
    """``"enum"`` for a string only this property's enum holds, ``"subject"`` for the object's
    one name or title property, else None (a bare value that could belong to another field
    would teach guessing)."""
    if not isinstance(value, str) or not value:
        return None
    if value in (node.get("enum") or ()) and value.lower() not in _ANSWERS:
        others = (resolver.node(props.get(k, {}), v) for k, v in instance.items() if k != key)
        if not any(value in (o.get("enum") or ()) for o in others):
            return "enum"
        return None
    if _named(key) and not node.get("format") and sum(_named(k) for k in instance) == 1:
        return "subject"
    return None


def _named(key: str) -> bool:
    return bool({"name", "title"} & set(vocab.words_of(key)))


_ANSWERS = {"yes", "no", "true", "false", "none", "null", "n/a"}
"""Enum values that say nothing bare ("yes" alone does not say what is affirmed)."""


def _bare(style: str, form: str, rng: random.Random) -> str:
    if style == "prose":
        template = rng.choice(BARE_PROSE)
        return template.format(value=form)
    return form


def _label(key: str, node: Mapping[str, Any]) -> str:
    title = node.get("title")
    if isinstance(title, str) and 0 < len(title) <= 40:
        return title.lower()
    return " ".join(vocab.words_of(key)) or key


def _state(style: str, label: str, form: str, plural: bool, rng: random.Random) -> str:
    if style == "prose":
        template = rng.choice(PROSE)
        return template.format(label=label, Label=label.capitalize(), value=form,
                               **{"is": "are" if plural else "is"})
    if style == "inline":
        return f"{label} {form}" if rng.random() < 0.5 else f"{label}: {form}"
    return f"{label.capitalize()}: {form}"


def _value(value: Any, node: Mapping[str, Any], key: str, pointer: str,
           written: dict[str, str], resolver: _Resolver, rng: random.Random) -> str:
    if isinstance(value, Mapping):
        props = node.get("properties") or {}
        clauses = []
        for sub, inner in value.items():
            child = resolver.node(props.get(sub, {}), inner)
            form = _value(inner, child, sub, f"{pointer}/{sub}", written, resolver, rng)
            clauses.append(f"{_label(sub, child)} {form}")
        return "(" + ", ".join(clauses) + ")" if clauses else "(none)"
    if isinstance(value, list):
        forms = [_value(v, resolver.node(node.get("items", {}), v), key, f"{pointer}/{i}",
                        written, resolver, rng)
                 for i, v in enumerate(value)]
        return _listed(forms, rng)
    form = _scalar(value, node, key, rng)
    written[pointer] = form
    return form


def _item_node(node: Mapping[str, Any], index: int) -> Any:
    prefix = node.get("prefixItems") or (node["items"] if isinstance(node.get("items"), list)
                                         else [])
    if index < len(prefix):
        return prefix[index]
    items = node.get("items", {})
    return items if isinstance(items, Mapping) else {}


def _listed(forms: Sequence[str], rng: random.Random) -> str:
    if not forms:
        return "none"
    if len(forms) == 1:
        return forms[0]
    joiner = rng.choice((" and ", ", and ", " & "))
    return ", ".join(forms[:-1]) + joiner + forms[-1] if rng.random() < 0.7 else ", ".join(forms)


def _scalar(value: Any, node: Mapping[str, Any], key: str, rng: random.Random) -> str:
    if isinstance(value, bool):
        return rng.choice(("yes", "Yes")) if value else rng.choice(("no", "No"))
    if value is None:
        return "none"
    if isinstance(value, int):
        return _integer(value, key, rng)
    if isinstance(value, float):
        return f"{value:g}" if rng.random() < 0.5 else str(value)
    text = str(value)
    fmt = node.get("format")
    if fmt == "date":
        return _date(text, rng)
    if fmt == "date-time" and "T" in text:
        day, clock = text.split("T", 1)
        return f"{_date(day, rng)} at {clock[:5]}"
    return text


def _integer(value: int, key: str, rng: random.Random) -> str:
    words = vocab.words_of(key)
    if value >= 60 and any(w.startswith("minute") for w in words) and rng.random() < 0.5:
        hours, minutes = divmod(value, 60)
        hour_word = "hour" if hours == 1 else "hours"
        return (f"{hours} {hour_word} {minutes} minutes" if minutes else f"{hours} {hour_word}"
                ) if rng.random() < 0.6 else f"{hours} h {minutes} min"
    if 0 <= value < len(NUMBER_WORDS) and rng.random() < 0.3:
        return NUMBER_WORDS[value]
    if abs(value) >= 10_000 and rng.random() < 0.5:
        return f"{value:,}"
    return str(value)


def _date(iso: str, rng: random.Random) -> str:
    try:
        day = datetime.date.fromisoformat(iso)
    except ValueError:
        return iso
    return rng.choice((
        day.isoformat(),
        f"{day:%B} {day.day}, {day.year}",
        f"{day.day} {day:%B} {day.year}",
        f"{day:%b} {day.day}, {day.year}",
    ))
