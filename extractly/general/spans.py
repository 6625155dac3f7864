"""Span records: a flat schema of many nullable string fields, and one short line that states a
few of them word for word; every other field is null.

This is the shape of most real extraction requests (a slot-filling command, an address, a
caption) and the one the JSONSchemaBench-derived pairs (``pairs``) lack: there a text states
most of what its schema holds and labels much of it, while here a 25-field schema meets a
line of six words with no labels, and the model must cut the line into parts by what each part
looks like and by the words around it. Two kinds of line:

- **compounds** (``COMPOUNDS``): one value written as its parts in their usual order (a postal
  address, a person's full name, a date with its weekday and time); the schema names each part
  (a field name drawn from a few synonyms, in snake, camel or Pascal case) and adds related
  parts the line does not have (a country, a building, a county: null);
- **phrased compounds** (``PHRASED``): a value whose parts are told apart by the words around
  them rather than by their order: a work and the type word that says what it is ("the song
  X", "X album", "a film called X"), a score with its scale and unit ("four stars out of 6",
  "7/10"); the field names are the parts' own, so a line never labels them;
- **commands** (``command_pairs``): a request over property names taken from real schemas,
  where a value whose kind shows (a person, a city, a date) goes bare behind a connector ("with
  Ada Park", "in Lyon") and any other value is placed by its field's words around it ("the
  Harbor Signal playlist", "rating 4", "party size of 3").

Outputs hold every field of the schema (``required``, as the evaluation sets do), values
verbatim from the text. A share of lines is written all in lower case, outputs too, as typed
commands are.
"""

from __future__ import annotations

import datetime
import json
import random
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import vocab

NULLABLE_STRING: dict[str, Any] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
NULLABLE_COUNT: dict[str, Any] = {"anyOf": [{"type": "integer", "minimum": 0},
                                            {"type": "null"}]}
LOWER = 0.3
"""Share of lines (and their outputs) written in lower case."""


@dataclass(frozen=True)
class Part:
    names: tuple[str, ...]
    """Synonyms for the field's name, as words (``"house number"``)."""
    make: Callable[[random.Random], str]
    present: float
    """How often a line has this part."""
    before: tuple[str, ...] = (" ",)
    """What may separate it from the part before it."""
    with_previous: bool = False
    """Present exactly when the part before it is (a unit number after its unit type)."""


def _pick(*options: str) -> Callable[[random.Random], str]:
    return lambda rng: rng.choice(options)


def _street_name(rng: random.Random) -> str:
    n = rng.randint(1, 120)
    ordinal = f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"
    return rng.choice((rng.choice(vocab.STREETS), rng.choice(vocab.LAST), ordinal,
                       f"{rng.choice(vocab.FIRST)} {rng.choice(vocab.LAST)}",
                       f"{rng.choice(vocab.STREETS)} {rng.choice(vocab.NOUNS)}"))


def _house_number(rng: random.Random) -> str:
    return str(rng.choice((rng.randint(1, 99), rng.randint(100, 999), rng.randint(1000, 99999))))


def _zip(rng: random.Random) -> str:
    five = f"{rng.randint(1000, 99950):05d}"
    return five if rng.random() < 0.85 else f"{five}-{rng.randint(0, 9999):04d}"


DIRECTIONS = ("N", "S", "E", "W", "NE", "NW", "SE", "SW", "N.", "S.", "North", "South", "East",
              "West")
STREET_SUFFIXES = ("St", "St.", "Street", "Ave", "Ave.", "Avenue", "Rd", "Road", "Blvd",
                   "Boulevard", "Dr", "Drive", "Ln", "Lane", "Ct", "Court", "Pl", "Place", "Way",
                   "Pkwy", "Hwy", "Ter", "Cir")
UNIT_TYPES = ("Apt", "Apt.", "Apartment", "Suite", "Ste", "Ste.", "Unit", "Fl", "Fl.", "Floor",
              "Rm", "Room", "Bldg", "#")
STATE_CODES = ("AL", "AZ", "CA", "CO", "FL", "GA", "IL", "KS", "MA", "MI", "MN", "NC", "NJ",
               "NY", "OH", "OR", "PA", "TX", "VA", "WA", "WI")

ADDRESS = (
    Part(("recipient", "addressee", "attention", "care of"),
         lambda rng: rng.choice((vocab.value_for("person", rng), vocab.value_for("company", rng))),
         0.12),
    Part(("house number", "street number", "building number", "civic number"), _house_number,
         0.9),
    Part(("pre direction", "street direction prefix", "direction before"), _pick(*DIRECTIONS),
         0.2),
    Part(("street", "street name", "road name", "thoroughfare"), _street_name, 0.95),
    Part(("street type", "street suffix", "road type"), _pick(*STREET_SUFFIXES), 0.85),
    Part(("post direction", "street direction suffix", "direction after"),
         _pick(*DIRECTIONS[:8]), 0.12),
    Part(("unit type", "unit designator", "secondary unit"), _pick(*UNIT_TYPES), 0.3,
         (" ", ", ")),
    Part(("unit", "unit number", "suite number", "apartment number"),
         lambda rng: rng.choice((str(rng.randint(1, 999)), rng.choice("ABCDEF"),
                                 f"{rng.randint(1, 30)}{rng.choice('ABCD')}")), 0.3,
         with_previous=True),
    Part(("city", "town", "locality", "municipality"), _pick(*vocab.CITIES, "Chicago",
                                                             "Springfield", "San Jose",
                                                             "New York", "Fort Worth"),
         0.7, (", ", " ")),
    Part(("state", "state code", "region", "province"),
         lambda rng: rng.choice((rng.choice(STATE_CODES), rng.choice(vocab.STATES))), 0.7,
         (", ", " ")),
    Part(("zip", "zip code", "postal code", "postcode"), _zip, 0.6, (" ", ", ")),
)
PERSON = (
    Part(("honorific", "prefix", "salutation", "title"),
         _pick("Dr.", "Dr", "Mr.", "Ms.", "Mrs.", "Prof.", "Rev.", "Sir"), 0.35),
    Part(("first name", "given name", "forename"), lambda rng: rng.choice(vocab.FIRST), 0.95),
    Part(("middle name", "middle initial", "middle"),
         lambda rng: rng.choice((rng.choice(vocab.FIRST), f"{rng.choice('ABCDEJKLMRST')}.")),
         0.3),
    Part(("last name", "family name", "surname"), lambda rng: rng.choice(vocab.LAST), 0.9),
    Part(("suffix", "generation", "name suffix"), _pick("Jr.", "Sr.", "II", "III", "PhD", "MD"),
         0.15, (" ", ", ")),
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Mon",
            "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December", "Jan", "Feb", "Mar", "Apr", "Jun", "Aug", "Sep",
          "Oct", "Nov", "Dec")
WHEN = (
    Part(("weekday", "day of week", "day name"), _pick(*WEEKDAYS), 0.5),
    Part(("month", "month name"), _pick(*MONTHS), 0.9, (", ", " ")),
    Part(("day", "day of month", "day number"), lambda rng: str(rng.randint(1, 28)), 0.85),
    Part(("year",), lambda rng: str(rng.randint(1990, 2030)), 0.6, (", ", " ")),
    Part(("time", "start time", "hour"),
         lambda rng: rng.choice((f"{rng.randint(1, 12)}:{rng.choice(('00', '15', '30', '45'))}",
                                 f"{rng.randint(1, 12)} pm", f"{rng.randint(1, 12)}am",
                                 f"{rng.randint(0, 23):02d}:{rng.choice(('00', '30'))}")),
         0.4, (" at ", ", ", " ")),
)
COMPOUNDS: dict[str, tuple[tuple[Part, ...], tuple[str, ...]]] = {
    # the parts in the order a line writes them; related fields a schema may add, never stated
    "address": (ADDRESS, ("country", "county", "building name", "landmark", "po box",
                          "floor", "neighborhood", "cross street")),
    "person": (PERSON, ("nickname", "maiden name", "job title", "email", "organization")),
    "when": (WHEN, ("timezone", "end time", "duration", "season", "quarter")),
}
SETTINGS = {
    # sentences a compound line may sit in
    "address": ("{}", "{}", "Ship to {}", "Send it to {}.", "Address: {}", "{} (office)",
                "We moved to {}", "Deliver to {} please"),
    "person": ("{}", "{}", "Signed, {}", "Contact {} for details.", "Speaker: {}",
               "Written by {}", "{} joined the team"),
    "when": ("{}", "{}", "Meet on {}", "Due {}.", "Starts {}", "Booked for {}",
             "The call is {}"),
}


@dataclass(frozen=True)
class Phrased:
    """A compound whose line is one of ``templates`` over named slots (``{type}``): the slots a
    template names are the parts the line states, in the template's words."""
    parts: Mapping[str, Part]
    templates: tuple[str, ...]
    settings: tuple[str, ...]
    extras: tuple[str, ...]
    """Related fields a schema may add, never stated."""


WORK_TYPES = ("song", "album", "track", "playlist", "book", "novel", "film", "movie", "show",
              "TV show", "series", "podcast", "game", "video game", "painting", "poem",
              "essay", "soundtrack", "documentary", "comic", "audiobook", "app", "photo",
              "report", "recipe", "article", "play", "opera", "musical", "anthology",
              "short story", "course", "lecture", "magazine", "single", "EP", "mixtape",
              "trilogy", "picture", "sculpture", "board game", "cartoon")
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                "ten")


def work_name(rng: random.Random) -> str:
    adjective, noun = rng.choice(vocab.ADJECTIVES), rng.choice(vocab.NOUNS)
    other = rng.choice(vocab.NOUNS)
    return rng.choice((f"{adjective} {noun}", f"The {adjective} {noun}", f"{noun} of {other}s",
                       f"The {noun}", f"{adjective} {noun}: {rng.choice(vocab.WORDS).title()}",
                       f"{rng.choice(vocab.FIRST)}'s {noun}", f"{noun} {rng.randint(2, 9)}",
                       f"{noun} in {rng.choice(vocab.CITIES)}",
                       f"{rng.choice(vocab.WORDS).title()}"))


def _score(rng: random.Random) -> str:
    n = rng.randint(0, 10)
    return rng.choice((str(n), NUMBER_WORDS[n], f"{rng.randint(1, 9)}.5", str(rng.randint(0, 6))))


PHRASED: dict[str, Phrased] = {
    "work": Phrased(
        {"name": Part(("title", "name", "work title", "work name", "item name", "work"),
                      work_name, 1.0),
         "type": Part(("type", "kind", "category", "media type", "format", "work type"),
                      _pick(*WORK_TYPES), 1.0),
         "creator": Part(("creator", "artist", "author", "made by", "maker"),
                         lambda rng: vocab.value_for("person", rng), 1.0)},
        ("the {type} {name}", "the {name} {type}", "{type} {name}", "{name} {type}",
         "the {type} called {name}", "a {type} named {name}", "the {type} titled {name}",
         "the {type}, {name}", "{name}", "{name}", "{name} by {creator}",
         "the {type} {name} by {creator}", "{creator}'s {type} {name}", "a {type}",
         "a {type} by {creator}", "the {creator} {type}", "{name}, the {type}"),
        ("Find {}", "Play {}", "Open {}", "Show me {}", "I loved {}", "Add {} to my list",
         "Look up {}", "Search for {}", "{}", "Can you get {}?", "Tell me about {}",
         "Where can I see {}", "Recommend {}", "Download {} please"),
        ("year", "genre", "language", "publisher", "length", "edition", "series name",
         "rating", "price", "audience")),
    "score": Phrased(
        {"value": Part(("score", "rating", "grade", "stars given", "points given", "mark"),
                       _score, 1.0),
         "max": Part(("out of", "maximum", "max score", "scale", "top score", "best possible"),
                     lambda rng: rng.choice(("5", "6", "10", "100", "five", "ten")), 1.0),
         "unit": Part(("unit", "score unit", "scale unit", "measure"),
                      _pick("stars", "points", "marks", "hearts", "stars", "points"), 1.0),
         "item": Part(("item", "subject", "what", "reviewed item", "product"), work_name,
                      1.0)},
        ("{value} {unit}", "{value} out of {max}", "{value} out of {max} {unit}",
         "{value} {unit} out of {max}", "{value}/{max}", "a {value}", "{value}",
         "{item} {value} {unit}", "{item} a {value} out of {max}", "{item} {value}",
         "{item} {value}/{max}", "{value} {unit} to {item}", "{item} {value} of {max} {unit}"),
        ("Rate {}", "Give {}", "I'd give {}", "{} from me", "Score: {}", "My review: {}",
         "Rating {}", "I rate {}", "Put down {}", "{}"),
        ("review text", "reviewer", "date", "comment", "verified", "helpful votes")),
    # two people told apart by the verb between them, never by labels; the field names and
    # verbs avoid the demo's ("host", "guests"; "interviews", "welcomes", "talk about"), which
    # stays a held-out test of the relation
    "interview": Phrased(
        {"asker": Part(("interviewer", "moderator", "asked by", "presenter", "questioner"),
                       lambda rng: vocab.value_for("person", rng), 1.0),
         "answerer": Part(("interviewee", "panelist", "respondent", "featured person",
                           "speaker"), lambda rng: vocab.value_for("person", rng), 1.0),
         "topic": Part(("topic", "subject", "theme", "about"),
                       lambda rng: rng.choice(vocab.TOPICS), 1.0)},
        ("{asker} questions {answerer}", "{asker} chats with {answerer} on {topic}",
         "{answerer} joins {asker} to discuss {topic}", "{asker} sits down with {answerer}",
         "{answerer} is interviewed by {asker}", "{asker} asks {answerer} about {topic}",
         "{answerer} speaks to {asker} about {topic}", "{asker} and {answerer} on {topic}",
         "{asker} meets {answerer}", "{answerer} tells {asker} about {topic}",
         "{topic} with {answerer}, moderated by {asker}", "{asker} quizzes {answerer}"),
        ("{}", "{}.", "This week {}.", "In this session {}.", "Today {}.", "Part 2: {}"),
        ("location", "date", "duration", "language", "producer")),
    "message": Phrased(
        {"from": Part(("sender", "from", "author", "sent by"),
                      lambda rng: vocab.value_for("person", rng), 1.0),
         "to": Part(("recipient", "to", "addressee", "sent to"),
                    lambda rng: vocab.value_for("person", rng), 1.0),
         "subject": Part(("subject", "topic", "regarding"),
                         lambda rng: rng.choice(vocab.TOPICS), 1.0)},
        ("{from} wrote to {to}", "from {from} to {to}", "{to} got a note from {from}",
         "{from} emailed {to} about {subject}", "{to} heard from {from} regarding {subject}",
         "{from} -> {to}: {subject}", "{from} replied to {to}", "a message for {to} from {from}",
         "{from} cc {to} re {subject}"),
        ("{}", "{}.", "Yesterday {}.", "Log: {}", "Note: {}"),
        ("date", "priority", "thread id", "attachment", "folder")),
    "sale": Phrased(
        {"seller": Part(("seller", "vendor", "sold by", "merchant"),
                        lambda rng: rng.choice((vocab.value_for("person", rng),
                                                vocab.value_for("company", rng))), 1.0),
         "buyer": Part(("buyer", "purchaser", "customer", "bought by"),
                       lambda rng: vocab.value_for("person", rng), 1.0),
         "item": Part(("item", "product", "goods", "what was sold"),
                      lambda rng: rng.choice(vocab.PRODUCTS), 1.0)},
        ("{seller} sold {item} to {buyer}", "{buyer} bought {item} from {seller}",
         "{buyer} purchased {item} from {seller}", "{seller} sold {buyer} a {item}",
         "{item} for {buyer}, from {seller}", "{buyer} ordered {item} at {seller}",
         "{seller} shipped {item} to {buyer}", "{buyer} paid {seller} for the {item}"),
        ("{}", "{}.", "Receipt: {}", "Last week {}.", "Order note: {}"),
        ("price", "date", "payment method", "order number", "warranty")),
}
_SLOT = re.compile(r"{(\w+)}")


def field_name(words: str, case: str) -> str:
    parts = words.split()
    if case == "snake":
        return "_".join(parts)
    if case == "camel":
        return parts[0] + "".join(p.capitalize() for p in parts[1:])
    return "".join(p.capitalize() for p in parts)


def flat_schema(title: str, names: Sequence[str], counts: Collection[str] = ()
                ) -> dict[str, Any]:
    """An object schema over ``names``, every field required and nullable: a string, or a
    non-negative integer for the names in ``counts``."""
    return {"title": title, "type": "object",
            "properties": {n: dict(NULLABLE_COUNT if n in counts else NULLABLE_STRING)
                           for n in names},
            "required": list(names), "additionalProperties": False}


def lowered(text: str, output: dict[str, Any], rng: random.Random) -> tuple[str, dict[str, Any]]:
    if rng.random() >= LOWER:
        return text, output
    return text.lower(), {k: v.lower() if isinstance(v, str) else v for k, v in output.items()}


def compound_pairs(kind: str, schemas: int, per_schema: int, *, seed: int = 0
                   ) -> Iterator[tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]]:
    """``schemas`` flat schemas of the compound ``kind`` with ``per_schema`` (line, output)
    pairs each."""
    parts, extras = COMPOUNDS[kind]
    rng = random.Random(f"{seed}:compound:{kind}")
    for _ in range(schemas):
        case = rng.choice(("snake", "snake", "camel", "pascal"))
        names = [field_name(rng.choice(p.names), case) for p in parts]
        added = [field_name(e, case) for e in rng.sample(extras, rng.randint(0, len(extras)))]
        fields = names + [a for a in added if a not in names]
        if rng.random() < 0.5:
            rng.shuffle(fields)
        schema = flat_schema(field_name(f"{kind} parts", "pascal"), fields)
        pairs = []
        for _ in range(per_schema):
            output: dict[str, Any] = dict.fromkeys(fields)
            line = ""
            previous = False
            for part, name in zip(parts, names, strict=True):
                present = previous if part.with_previous else rng.random() < part.present
                previous = present
                if not present:
                    continue
                value = part.make(rng)
                line = f"{line}{rng.choice(part.before) if line else ''}{value}"
                output[name] = value
            if not line:
                continue
            text = rng.choice(SETTINGS[kind]).format(line)
            pairs.append(lowered(text, output, rng))
        if pairs:
            yield schema, pairs


def phrased_pairs(kind: str, schemas: int, per_schema: int, *, seed: int = 0
                  ) -> Iterator[tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]]:
    """``schemas`` flat schemas of the phrased compound ``kind`` (``PHRASED``) with
    ``per_schema`` (line, output) pairs each; a schema may lack some parts, and its lines then
    use only templates over the parts it has."""
    phrased = PHRASED[kind]
    rng = random.Random(f"{seed}:phrased:{kind}")
    made = 0
    while made < schemas:  # a draw that cannot make a schema is drawn again
        case = rng.choice(("snake", "snake", "camel", "pascal"))
        slots = [s for s in phrased.parts if rng.random() < 0.8] or list(phrased.parts)
        names = {s: field_name(rng.choice(phrased.parts[s].names), case) for s in slots}
        if len(set(names.values())) < len(names):
            continue
        added = [field_name(e, case)
                 for e in rng.sample(phrased.extras, rng.randint(0, len(phrased.extras)))]
        fields = list(names.values()) + [a for a in added if a not in names.values()]
        rng.shuffle(fields)
        usable = [t for t in phrased.templates if set(_SLOT.findall(t)) <= set(slots)]
        if not usable:
            continue
        schema = flat_schema(field_name(f"{kind} details", "pascal"), fields)
        pairs = []
        for _ in range(per_schema):
            template = rng.choice(usable)
            values = {s: phrased.parts[s].make(rng) for s in _SLOT.findall(template)}
            if len(set(values.values())) < len(values):  # two parts alike: which is which?
                continue
            for slot, value in values.items():  # "the The Quiet Garden"
                if re.search(rf"\bthe ({{\w+}} )?{{{slot}}}", template):
                    values[slot] = re.sub(r"^The ", "", value)
            output: dict[str, Any] = dict.fromkeys(fields)
            for slot, value in values.items():
                output[names[slot]] = value
            line = template.format(**values)
            text = rng.choice(phrased.settings).format(line)
            pairs.append(lowered(text, output, rng))
        made += 1
        yield schema, pairs


OPENERS = ("Find", "Show me", "Please add", "I want", "Book", "Get", "Can you find", "Look up",
           "Set", "Give me", "Put", "Play", "Search for", "Check", "I need", "Add", "List",
           "Send", "Order", "Schedule", "Rate", "Open", "")
CLOSERS = ("", "", "", ".", "?", " please", " now", " for me")
PLACED = ("{label} {value}", "the {value} {label}", "{value} {label}", "{label} of {value}",
          "{label}: {value}", "with {label} {value}", "{label} set to {value}",
          "a {label} of {value}", "{value} as the {label}", "my {value} {label}")
"""How a value nothing else identifies is placed by its field's words."""
NUMERIC = re.compile(r"\b(count|number|num|rating|score|size|quantity|qty|stars|age|amount|"
                     r"total|rank|level|year|years|minutes|hours|days|price|cost|percent|"
                     r"value|limit|max|min|best)\b")
_WORD = re.compile(r"^[A-Za-z][A-Za-z ]{1,30}$")


def _free_string(node: Any) -> bool:
    """A property that holds free text: a string with no enum, format or pattern."""
    if not isinstance(node, Mapping) or {"enum", "const", "format", "pattern"} & set(node):
        return False
    kind = node.get("type")
    if isinstance(kind, list):
        return "string" in kind and not {"object", "array"} & set(kind)
    branches = node.get("anyOf") or node.get("oneOf")
    if isinstance(branches, list) and kind is None:
        return any(_free_string(b) for b in branches) and all(
            isinstance(b, Mapping) and b.get("type") in ("string", "null") for b in branches)
    return bool(kind == "string")


def _reads_as_words(name: str) -> bool:
    words = vocab.words_of(name)
    return (bool(_WORD.match(" ".join(words))) and len(words) <= 3
            and all(re.search(r"[aeiouy]", w) and len(w) <= 14 for w in words)
            and words[0] not in ("is", "has", "can", "should", "x", "id"))


def usable_names(schema_file: Path) -> list[list[str]]:
    """Per schema of ``schema_file`` (JSONL: ``schema``), the names of its free-text string
    properties (``_free_string``) that read as words (``customerName``, ``zip_code``; not
    ``$x``, ``a.b.c`` nor ``isActive``), top level and one level down, when it has four."""
    groups = []
    with schema_file.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            schema = json.loads(line).get("schema")
            if not isinstance(schema, Mapping):
                continue
            names: list[str] = []
            nodes = [schema, *(schema.get("properties") or {}).values()]
            for node in nodes:
                props = node.get("properties") if isinstance(node, Mapping) else None
                for name, sub in (props or {}).items():
                    if _free_string(sub) and _reads_as_words(name) and name not in names:
                        names.append(name)
            if len(names) >= 4:
                groups.append(names)
    return groups


def _command_value(name: str, rng: random.Random) -> tuple[str, str | None]:
    """A value for a string field called ``name`` and the kind a reader sees in it (None: a
    number or a phrase, which needs its field's words around it)."""
    words = " ".join(vocab.words_of(name))
    if re.search(r"\b(date|day|birthday|deadline)\b", words):
        day = datetime.date(2015, 1, 1) + datetime.timedelta(days=rng.randrange(4000))
        return rng.choice((day.isoformat(), f"{day:%B} {day.day}",
                           f"{day:%B} {day.day}, {day.year}", f"{day.day} {day:%b} {day.year}",
                           f"{day:%A}")), "date"
    if re.search(r"\b(time|hour)\b", words):
        return rng.choice((f"{rng.randint(1, 12)} pm", f"{rng.randint(1, 12)}:30 am",
                           f"{rng.randint(0, 23):02d}:{rng.choice(('00', '15', '45'))}")), "time"
    if NUMERIC.search(words):
        return str(rng.choice((rng.randint(0, 10), rng.randint(1, 5), rng.randint(10, 500)))), None
    kind = vocab.kind_of(name)
    if kind == "phrase":
        phrase = " ".join(rng.sample(vocab.WORDS + vocab.NOUNS + vocab.ADJECTIVES,
                                     rng.randint(1, 3)))
        return (phrase.title() if rng.random() < 0.5 else phrase.lower()), None
    return vocab.value_for(kind, rng), kind


COMMAND_CONNECTORS: dict[str, tuple[str, ...]] = {
    "person": ("with {}", "by {}", "from {}", "for {}"),
    "city": ("in {}", "near {}"), "country": ("in {}",), "state": ("in {}",),
    "street": ("at {}", "on {}"), "business": ("at {}",), "company": ("at {}", "from {}"),
    "title": ('"{}"', "{}"), "topic": ("about {}", "on {}"), "email": ("to {}", "{}"),
    "url": ("at {}", "{}"), "phone": ("at {}", "{}"), "zip": ("{}",), "product": ("a {}", "the {}"),
    "date": ("on {}", "for {}"), "time": ("at {}",),
    "job": ("as {}", "as a {}"), "color": ("in {}",), "currency": ("in {}",), "code": ("{}",),
}


def command_pairs(name_groups: Sequence[Sequence[str]], schemas: int, per_schema: int, *,
                  seed: int = 0
                  ) -> Iterator[tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]]:
    """``schemas`` flat schemas over property names drawn from one of ``name_groups`` (a real
    schema's, ``usable_names``), with ``per_schema`` one-line commands each stating one to
    four of the fields."""
    rng = random.Random(f"{seed}:commands")
    for _ in range(schemas):
        group = list(rng.choice(name_groups))
        fields = rng.sample(group, min(len(group), rng.randint(4, 16)))
        kinds = {f: vocab.kind_of(f) for f in fields}
        schema = flat_schema("Request", fields)
        pairs = []
        for _ in range(per_schema):
            stated = rng.sample(fields, min(len(fields), rng.randint(1, 4)))
            output: dict[str, Any] = dict.fromkeys(fields)
            parts: list[str] = []
            for name in stated:
                value, kind = _command_value(name, rng)
                if any(value.lower() in p.lower() or p.lower() in value.lower()
                       for p in parts):  # a value inside another would be ambiguous
                    continue
                alone = kind is not None and sum(k == kind for k in kinds.values()) == 1
                if alone and kind in COMMAND_CONNECTORS:
                    parts.append(rng.choice(COMMAND_CONNECTORS[str(kind)]).format(value))
                else:
                    label = " ".join(vocab.words_of(name))
                    parts.append(rng.choice(PLACED).format(label=label, value=value))
                output[name] = value
            text = " ".join(x for x in (rng.choice(OPENERS), " ".join(parts)) if x)
            text += rng.choice(CLOSERS)
            pairs.append(lowered(text, output, rng))
        yield schema, pairs
