"""An instance of a schema written out as text a person might have written: the input half of a
synthetic training pair (``instances`` gives the output half).

``render(instance, schema, rng)`` states every property the instance has and nothing else (an
instance with none gives a sentence that mentions no field), in one of the layouts of
``STYLES``: label lines, bullets, prose sentences, one inline line, or the record as its values
alone (an address line, a command, a caption: ``"Ada Park, 12 Oak Street, Lyon"`` or ``"with Ada
Park in Lyon on March 3, 2024"``). Values are written the way texts write them, not the way the
JSON stores them, so the model learns to normalise:

- dates as ``2024-03-03``, ``March 3, 2024``, ``3 March 2024`` or ``Mar 3, 2024``; date-times
  with ``at 14:30``;
- small integers sometimes in words (``seven``), large ones sometimes with separators
  (``12,500``), minutes of 60 and more sometimes as hours and minutes (``1 hour 5 minutes``);
- booleans as yes/no;
- lists in prose (``A, B and C``) or one per bullet; an empty list as "none";
- nested objects as ``label value`` clauses.

Real texts mostly state a value without naming its field ("Blue Spice is a coffee shop", "1234
S Martin Luther King Dr Chicago, IL 60637"), not "name: Blue Spice". A model trained only on
labelled statements learns to leave a field null unless its label is in the text, so values
the reader can place without a label go bare: always in the ``"values"`` layout, in a share
(``UNLABELLED``) of the others. A value can be placed when nothing else in the schema could
hold it (``_identifiable``): an enum value no other field takes, the record's one name or
title, or a value whose kind shows in its content (a person, a city, a date, a duration in
minutes, an email...) when no other property of the schema is of that kind. Any other value
keeps its label, so the model is never taught to guess between two fields.

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

STYLES = ("lines", "bullets", "prose", "inline", "values")
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
                "seventeen", "eighteen", "nineteen", "twenty")
FILLER = (
    "Thanks for reading.", "More details will follow next week.", "Posted in the weekly update.",
    "Questions go to the usual channel.", "This note was written in a hurry.",
    "See the previous message for context.", "All times are local.", "Updated this morning.",
)
UNLABELLED = 0.6
"""Share of identifiable values (``_identifiable``) stated without their label."""
BARE_PROSE = ("It is {value}.", "This one is {value}.", "All {value}.", "Expect {value}.")
"""Sentences that state an enum value with no label."""
CONNECTORS: dict[str, tuple[str, ...]] = {
    "person": ("with {}", "by {}", "from {}", "{}"),
    "city": ("in {}", "{}"), "country": ("in {}", "{}"), "state": ("in {}", "{}"),
    "street": ("at {}", "{}"), "business": ("at {}", "{}"), "company": ("at {}", "from {}", "{}"),
    "title": ('"{}"', "{}"), "topic": ("about {}", "on {}", "{}"),
    "date": ("on {}", "{}"), "time": ("at {}", "{}"), "year": ("in {}", "from {}", "{}"),
}
"""How a bare value of a kind is joined into a command or caption (``"values"`` layout);
kinds not listed go in as they are."""
CONTENT_KINDS = frozenset(vocab.MAKERS) - {"phrase"} | {
    "date", "time", "email", "url", "duration", "year", "number"}
"""Kinds a value shows in its own content (a random phrase shows none)."""
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
    if rng.random() < (0.2 if style == "values" else 0.6):  # a values line keeps schema order
        rng.shuffle(keys)
    what = str(schema.get("title") or "")
    nodes = {key: _typed(resolver, props.get(key, {}), instance.get(key, _ABSENT))
             for key in {**props, **instance}}
    kinds = {key: _slot_kind(key, node, what) for key, node in nodes.items()}
    connected = style == "values" and rng.random() < 0.5
    written: dict[str, str] = {}
    parts: list[str] = []
    subject: str | None = None
    for key in keys:
        value, node = instance[key], nodes[key]
        kind = _identifiable(key, value, instance, props, nodes, kinds)
        if kind == "number" and style != "values":  # "Expect 3." reads as nothing
            kind = None
        if kind and (style == "values" or rng.random() < UNLABELLED):
            if kind == "subject" and style != "values":
                subject = _scalar(value, node, key, rng)
                written[f"/{key}"] = subject
                continue
            form = _bare_value(value, node, key, kind == "duration", f"/{key}", written,
                               resolver, rng)
            if connected and kind in CONNECTORS:
                form = rng.choice(CONNECTORS[kind]).format(form)
            parts.append(_bare(style, form, rng))
        else:
            parts.append(_labelled(style, key, value, node, written, resolver, rng))
    if not parts and subject is None:  # nothing to state: a text that mentions no field
        return Rendered(rng.choice(FILLER), written)
    joiner = {"lines": "\n", "bullets": "\n", "prose": " ", "inline": "; ",
              "values": " " if connected else rng.choice((", ", ", ", " ", " - "))}[style]
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


def _labelled(style: str, key: str, value: Any, node: Mapping[str, Any],
              written: dict[str, str], resolver: _Resolver, rng: random.Random) -> str:
    """``value`` stated beside its label, in the layout ``style``."""
    label = _label(key, node)
    if style == "values":  # a value nothing identifies keeps its label, inline
        form = _value(value, node, key, f"/{key}", written, resolver, rng)
        return f"{label} {form}" if rng.random() < 0.5 else f"{label}: {form}"
    scalars = isinstance(value, list) and value and not any(
        isinstance(v, (list, Mapping)) for v in value)
    if style == "bullets" and scalars and rng.random() < 0.5:
        items = resolver.node(_item_node(node, 0), value[0])
        forms = [_scalar(v, items, key, rng) for v in value]
        written |= {f"/{key}/{i}": f for i, f in enumerate(forms)}
        return f"{label.capitalize()}:\n" + "\n".join(f"  - {f}" for f in forms)
    form = _value(value, node, key, f"/{key}", written, resolver, rng)
    plural = isinstance(value, list) and len(value) > 1
    return _state(style, label, form, plural, rng)


def _identifiable(key: str, value: Any, instance: Mapping[str, Any], props: Mapping[str, Any],
                  nodes: Mapping[str, Mapping[str, Any]],
                  kinds: Mapping[str, str | None]) -> str | None:
    """How a reader could place ``value`` with no label, or None (a bare value that could
    belong to another field would teach guessing): ``"enum"`` for a string only this
    property's enum holds, ``"subject"`` for the object's one name or title property, else the
    value's content kind (``kinds[key]``, see ``_slot_kind``) when no other property of the
    schema has that kind."""
    node = nodes[key]
    if isinstance(value, str) and value in (node.get("enum") or ()):
        if value.lower() in _ANSWERS:
            return None
        others = (nodes[k] for k in instance if k != key)
        return None if any(value in (o.get("enum") or ()) for o in others) else "enum"
    if isinstance(value, str) and not value:
        return None
    if (isinstance(value, str) and _named(key) and not node.get("format")
            and sum(_named(k) for k in props) == 1):
        return "subject"
    kind = kinds.get(key)
    if kind is None or kind not in CONTENT_KINDS or (isinstance(value, list) and not value):
        return None
    if sum(k == kind for k in kinds.values()) != 1:
        return None
    return kind


_ABSENT = object()


def _typed(resolver: _Resolver, node: Any, value: Any) -> Mapping[str, Any]:
    """The node of a property for ``value``, or, for a property the instance lacks, its first
    branch that is not null (what the property would hold)."""
    if value is not _ABSENT:
        return resolver.node(node, value)
    for _ in range(10):
        node = resolver.node(node, {}) if isinstance(node, Mapping) and "$ref" in node else node
        branches = node.get("anyOf") or node.get("oneOf") if isinstance(node, Mapping) else None
        if not isinstance(branches, list):
            break
        typed = [b for b in branches if not (isinstance(b, Mapping) and b.get("type") == "null")]
        node = typed[0] if typed else {}
    return node if isinstance(node, Mapping) else {}


def _slot_kind(key: str, node: Mapping[str, Any], what: str) -> str | None:
    """What kind of value property ``key`` holds, as far as its content shows it: a format
    (date, email...), a word list (``vocab.kind_of`` of its name, qualified by the object
    ``what``), ``duration`` or ``year`` for integers so named, ``number`` for other numbers;
    the item kind for a list; None for booleans, objects and enums."""
    if "enum" in node or "const" in node:
        return None
    kind = node.get("type")
    kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
    if kind == "array":
        items = node.get("items")
        return _slot_kind(key, items, what) if isinstance(items, Mapping) else None
    words = vocab.words_of(key)
    if kind in ("integer", "number"):
        if any(w.startswith(("minute", "duration")) for w in words) and kind == "integer":
            return "duration"
        return "year" if "year" in words else "number"
    if kind != "string":
        return None
    fmt = node.get("format")
    if fmt in ("date", "date-time"):
        return "date"
    if fmt in ("time", "email"):
        return str(fmt)
    if fmt in ("uri", "url", "iri"):
        return "url"
    if fmt:
        return None
    return vocab.kind_of(vocab.qualified(key, what))


def _named(key: str) -> bool:
    return bool({"name", "title"} & set(vocab.words_of(key)))


_ANSWERS = {"yes", "no", "true", "false", "none", "null", "n/a"}
"""Enum values that say nothing bare ("yes" alone does not say what is affirmed)."""


def _bare_value(value: Any, node: Mapping[str, Any], key: str, duration: bool, pointer: str,
                written: dict[str, str], resolver: _Resolver, rng: random.Random) -> str:
    """``value`` written with no label: a duration (``_slot_kind``'s ``"duration"``) keeps its
    unit (a bare 65 says nothing), a list is written in prose."""
    if isinstance(value, list):
        forms = [_bare_value(v, resolver.node(_item_node(node, i), v), key, duration,
                             f"{pointer}/{i}", written, resolver, rng)
                 for i, v in enumerate(value)]
        return _listed(forms, rng)
    if duration and isinstance(value, int) and not isinstance(value, bool):
        form = _integer(value, key, rng)
        if form == str(value) or form in NUMBER_WORDS:
            form = f"{form} minutes" if rng.random() < 0.7 else f"{form} min"
    else:
        form = _scalar(value, node, key, rng)
    written[pointer] = form
    return form


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
